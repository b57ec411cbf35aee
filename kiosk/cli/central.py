"""`kiosk serve` and `kiosk central ...`: the central server's commands (they may print; they return exit codes)."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path


def _settings(args: argparse.Namespace):
    """The [central] settings of ``kiosk --config FILE`` and $KIOSK_CENTRAL__*, with this command's flags on top."""
    from kiosk.central.manage import central_settings
    from kiosk.settings.tree import load_settings

    return central_settings(db_url=args.db, data_dir=args.data_dir, host=getattr(args, "host", None),
                            port=getattr(args, "port", None), base=load_settings(args.config).central)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the central server (FastAPI) until Ctrl+C."""
    from kiosk.central.manage import serve

    serve(_settings(args), uds=args.uds)
    return 0


def cmd_central(args: argparse.Namespace) -> int:
    """Register regions, stores, devices and users."""
    from kiosk.central import manage

    s = _settings(args)
    try:
        if args.action == "add-region":
            print(manage.add_region(s, args.id, args.name))
        elif args.action == "add-store":
            print(manage.add_store(s, args.id, args.region, args.name, args.timezone))
        elif args.action == "add-device":
            token = manage.add_device(s, args.id, args.store)
            print(f"device {args.id} added to store {args.store}; its token (shown once, keep it for [sync] device_token):")
            print(token)
        elif args.action == "add-user":
            password = _password(args)
            print(manage.add_user(s, args.id, password, args.role, store_id=args.store, region_ids=args.region or ()))
        elif args.action == "revoke-device":
            print(manage.revoke_device(s, args.id))
        elif args.action == "rotate-device-token":
            token = manage.rotate_device_token(s, args.id)
            print(f"device {args.id} has a new token (shown once; the old one no longer works), set it as [sync] device_token:")
            print(token)
        elif args.action in ("disable-user", "enable-user"):
            print(manage.set_user_disabled(s, args.id, args.action == "disable-user"))
        elif args.action == "reset-password":
            print(manage.reset_password(s, args.id, _password(args)))
        elif args.action == "end-sessions":
            print(manage.end_sessions(s, args.id))
    except ValueError as exc:
        print(f"kiosk central {args.action}: {exc}", file=sys.stderr)
        return 3
    return 0


def _password(args: argparse.Namespace) -> str:
    """From standard input with --password-stdin, else asked twice on the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(f"password for {args.id}: ")
    if getpass.getpass("again: ") != password:
        raise ValueError("the two passwords differ")
    return password


def _common(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--db", default=None, help="postgresql://... (default: SQLite in --data-dir)")
    sp.add_argument("--data-dir", type=Path, default=None, help="where the default SQLite file lives (default: var)")


def add_arguments(name: str, sp: argparse.ArgumentParser) -> None:
    if name == "serve":
        _common(sp)
        sp.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
        sp.add_argument("--port", type=int, default=None, help="port (default 8000)")
        sp.add_argument("--uds", default=None, help="listen on this Unix socket instead of host:port")
    elif name == "central":
        sub = sp.add_subparsers(dest="action", required=True, metavar="ACTION")
        r = sub.add_parser("add-region", help="add a region (a group of stores a regional user sees)",
                           description="Add a region: a group of stores compared with each other.")
        r.add_argument("id", help="short region id, e.g. north (letters, digits, - and _)")
        r.add_argument("--name", default=None, help="display name (default: the id)")
        st = sub.add_parser("add-store", help="add a store to a region",
                            description="Add a store. Its terminals use the same id as store.store_id.")
        st.add_argument("id", help="store id, the same as store.store_id in its terminals' settings")
        st.add_argument("--region", required=True, help="the region id it belongs to")
        st.add_argument("--name", default=None, help="display name, e.g. 'Retail, Market Street' (default: the id)")
        st.add_argument("--timezone", default="UTC",
                        help="the store's IANA time zone, e.g. Europe/Berlin: its figures are filed under its local "
                             "day (default UTC)")
        d = sub.add_parser("add-device", help="register a terminal; prints its token once",
                           description="Register a terminal of a store and print its bearer token once: put it in "
                                       "the terminal's settings as [sync] device_token.")
        d.add_argument("id", help="device id, the same as store.device_id in the terminal's settings")
        d.add_argument("--store", required=True, help="the store id the terminal stands in")
        u = sub.add_parser("add-user", help="add a dashboard login (asks for the password twice)",
                           description="Add a dashboard login: admin (everything), regional (its regions) or "
                                       "manager (one store).")
        u.add_argument("id", help="user name")
        u.add_argument("--role", required=True, choices=["admin", "regional", "manager"],
                       help="admin: everything; regional: the stores of its --region(s); manager: its --store")
        u.add_argument("--store", default=None, help="the store a manager manages")
        u.add_argument("--region", action="append", help="a region a regional user sees (repeatable)")
        u.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        more = []
        for action, what, says in (
                ("revoke-device", "device id", "Revoke a device: its token is refused from now on (a lost or stolen "
                                               "terminal); rotate-device-token re-activates it."),
                ("rotate-device-token", "device id", "Give a device a new token, printed once; the old one stops "
                                                     "working. Put it in the terminal's [sync] device_token."),
                ("disable-user", "user name", "Disable a dashboard login and end its sessions (it stays on record)."),
                ("enable-user", "user name", "Enable a disabled dashboard login again."),
                ("reset-password", "user name", "Set a new password for a dashboard login (asked twice) and end its "
                                                "sessions."),
                ("end-sessions", "user name", "Sign a dashboard login out everywhere.")):
            p = sub.add_parser(action, help=says.split(":")[0].split(";")[0].rstrip(".").lower(), description=says)
            p.add_argument("id", help=what)
            if action == "reset-password":
                p.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
            more.append(p)
        for p in (r, st, d, u, *more):
            _common(p)


CENTRAL_COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "serve": (cmd_serve, "run the central server (dashboards, ingest API)"),
    "central": (cmd_central, "register regions, stores, devices (prints the token once) and users; revoke or "
                             "rotate device tokens; disable users, reset passwords, end sessions"),
}
