"""The device's commands: ``kiosk doctor``, ``kiosk install-service`` and ``kiosk heartbeat``.

``DEVICE_COMMANDS`` and ``add_arguments`` plug into ``kiosk.cli`` (its COMMANDS table and parser); until then
``python -m kiosk.device_cli [--config FILE] doctor|install-service|heartbeat`` runs them on their own. Like
``kiosk.cli``, only this module prints and turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from kiosk.config import Settings, load_settings
from kiosk.device_settings import CAMERA_SOURCE_PATTERN, DeviceSettings

EXIT_FAILED_CHECKS, EXIT_BAD_INPUT, EXIT_NOT_SENT = 1, 3, 4


def device_settings(settings: Settings) -> DeviceSettings:
    return settings.device


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check camera, models, data directory, database, disk, clock, token and server; exit 1 if any check failed."""
    from kiosk.doctor import default_checks, failed, report_text, run_checks

    settings = load_settings(args.config)
    device = device_settings(settings)
    if getattr(args, "camera", None):
        device = device.model_copy(update={"camera_source": args.camera})
    checks = run_checks(default_checks(settings, device))
    print(report_text(checks))
    return EXIT_FAILED_CHECKS if failed(checks) else 0


def cmd_install_service(args: argparse.Namespace) -> int:
    """Write the systemd units for this terminal (and the central server's with --central)."""
    from kiosk.services import SYSTEM_UNIT_DIR, TERMINAL_UNIT, install_services

    if args.config is None:
        print("kiosk install-service: give the settings file the units should use: kiosk --config FILE install-service",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    settings = load_settings(args.config)
    dest = args.dest
    if dest is None and os.geteuid() != 0:
        print(f"kiosk install-service: writing to {SYSTEM_UNIT_DIR} needs root; run it with sudo, or pass --dest DIR",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    written = install_services(dest, settings, args.venv, args.user, config=Path(args.config).absolute(),
                               device=device_settings(settings), central=args.central)
    for path in written:
        print(f"wrote {path}")
    timers = [p.name for p in written if p.suffix == ".timer"]
    if dest is None or Path(dest).resolve() == SYSTEM_UNIT_DIR:
        print("\nnow: systemctl daemon-reload && systemctl enable --now " + " ".join([TERMINAL_UNIT, *timers]))
    return 0


def cmd_heartbeat(args: argparse.Namespace) -> int:
    """Send one heartbeat to the central server."""
    from kiosk.heartbeat import HeartbeatError, send_heartbeat

    settings = load_settings(args.config)
    try:
        result = send_heartbeat(settings)
    except HeartbeatError as exc:
        print(f"kiosk heartbeat: {exc}", file=sys.stderr)
        return EXIT_NOT_SENT
    p = result.payload
    line = (f"heartbeat delivered (HTTP {result.status_code}): device {p.device_id}, outbox {p.outbox_pending} pending, "
            f"last sync {p.last_sync_at.isoformat() if p.last_sync_at else 'never'}")
    offset = result.clock_offset_s
    if offset is not None:
        line += f"; terminal clock {offset:+.1f} s from the server's"
    print(line)
    return 0


DEVICE_COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "doctor": (cmd_doctor, "check camera, models, disk, clock, data directory and server; a fix for each problem"),
    "install-service": (cmd_install_service, "write the systemd units that run this terminal"),
    "heartbeat": (cmd_heartbeat, "tell the central server this terminal is alive"),
}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    """Add the options of device command ``name`` to its sub-parser (nothing for commands without options)."""
    if name == "doctor":
        parser.add_argument("--camera", type=_camera_spec, default=None, metavar="SOURCE",
                            help='check this camera instead of device.camera_source: an index ("0") or "picamera"')
    elif name == "install-service":
        parser.add_argument("--dest", type=Path, default=None,
                            help="directory to write the units to (default /etc/systemd/system, as root)")
        parser.add_argument("--user", default=None, help="user the units run as (default device.service_user)")
        parser.add_argument("--venv", type=Path, default=Path(sys.prefix).absolute(),
                            help="virtual environment holding `kiosk` (default: this one)")
        parser.add_argument("--central", action="store_true", help="also write kiosk-central.service (central server)")


def _camera_spec(value: str) -> str:
    if not re.fullmatch(CAMERA_SOURCE_PATTERN, value):
        raise argparse.ArgumentTypeError(f'{value!r} is not a camera: give an index such as "0", or "picamera"')
    return value


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.device_cli doctor`` works as ``kiosk doctor``: one parser and one error policy, kiosk.cli's."""
    from kiosk.cli import main as kiosk_main

    return kiosk_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
