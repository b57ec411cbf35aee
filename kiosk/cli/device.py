"""The device's commands: ``kiosk doctor``, ``install-service``, ``heartbeat``, ``set-pin`` and ``outbox``.

``DEVICE_COMMANDS`` and ``add_arguments`` plug into ``kiosk.cli.commands`` (its COMMANDS table and parser). Like
``kiosk.cli.commands``, only this module prints and turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from kiosk.settings.tree import Settings, load_settings
from kiosk.settings.device import CAMERA_SOURCE_PATTERN, DeviceSettings

EXIT_FAILED_CHECKS, EXIT_BAD_INPUT, EXIT_NOT_SENT = 1, 3, 4


def device_settings(settings: Settings) -> DeviceSettings:
    return settings.device


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check, in the order a technician fixes them: camera, pose models, calibration, data directory, database,
    disk, clock, staff PIN, device token and central server. One line per check with its fix; exit 1 if any
    failed. With -v, what the native libraries (OpenCV, MediaPipe) printed meanwhile follows the report."""
    from kiosk.device.doctor import default_checks, failed, native_output_captured, report_text, run_checks

    settings = load_settings(args.config)
    device = device_settings(settings)
    if getattr(args, "camera", None):
        device = device.model_copy(update={"camera_source": args.camera})
    with native_output_captured() as native:
        checks = run_checks(default_checks(settings, device))
    print(report_text(checks))
    if args.verbose and native.text.strip():
        print("\n-- printed by the native libraries during the checks --\n" + native.text.rstrip())
    return EXIT_FAILED_CHECKS if failed(checks) else 0


def cmd_install_service(args: argparse.Namespace) -> int:
    """Write the systemd units of this terminal (the app, the sync and heartbeat timers; the central server's with
    --central) for the settings file given with --config, then say how to enable them."""
    from kiosk.device.systemd import SYSTEM_UNIT_DIR, TERMINAL_UNIT, install_services

    if args.config is None:
        print("kiosk install-service: give the settings file the units should use: kiosk --config FILE install-service",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    settings = load_settings(args.config)
    if "data_dir" not in settings.store.model_fields_set:
        print(f"kiosk install-service: {args.config} does not set store.data_dir; a service needs it spelled out, "
              'e.g. [store] data_dir = "/srv/kiosk/data" (the data partition, firmware_notes/05-storage.md)',
              file=sys.stderr)
        return EXIT_BAD_INPUT
    dest = args.dest
    if dest is None and os.geteuid() != 0:
        print(f"kiosk install-service: writing to {SYSTEM_UNIT_DIR} needs root; run it with sudo, or pass --dest DIR",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    written = install_services(dest, settings, args.venv, args.user, config=Path(args.config).absolute(),
                               device=device_settings(settings), central=args.central)
    for path in written:
        print(f"wrote {path}")
    units = [TERMINAL_UNIT, *(p.name for p in written if p.suffix == ".timer")]
    if args.central:
        units.append("kiosk-central.service")
    enable = "systemctl daemon-reload && systemctl enable --now " + " ".join(units)
    if dest is None or Path(dest).resolve() == SYSTEM_UNIT_DIR:
        print(f"\nnext: {enable}\nthen: kiosk --config {Path(args.config).absolute()} doctor")
    else:
        print(f"\nnext: copy them to {SYSTEM_UNIT_DIR} (or into the image), then {enable}")
    return 0


def cmd_heartbeat(args: argparse.Namespace) -> int:
    """Send one heartbeat to the central server (device id, outbox size, last sync; nothing about people), as the
    kiosk-heartbeat timer does; exit 4 when it was not delivered."""
    from kiosk.device.heartbeat import HeartbeatError, send_heartbeat

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


def cmd_set_pin(args: argparse.Namespace) -> int:
    """Set the staff PIN (4-12 digits) that opens the staff screen: asked twice, never echoed, stored only as its
    scrypt hash in the settings file given with --config ([terminal] staff_pin_hash). Restart the app after."""
    from kiosk.settings.file import set_value
    from kiosk.settings.pin import check_pin_format, hash_pin

    if args.config is None:
        print("kiosk set-pin: give the settings file to write the PIN into: kiosk --config FILE set-pin", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.pin_stdin:
        pin = sys.stdin.readline().rstrip("\n")
    else:
        pin = getpass.getpass("new staff PIN (4-12 digits): ")
        if getpass.getpass("the same PIN again: ") != pin:
            print("kiosk set-pin: the two PINs differ; nothing was changed", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        check_pin_format(pin)
    except ValueError as exc:
        print(f"kiosk set-pin: {exc}; nothing was changed", file=sys.stderr)
        return EXIT_BAD_INPUT
    set_value(Path(args.config), "terminal", "staff_pin_hash", hash_pin(pin))
    print(f"staff PIN set in {args.config} [terminal] staff_pin_hash; restart the app to use it "
          "(systemctl restart kiosk-terminal)")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """Show the sync outbox: batches waiting, sent, and set aside because the server refused them as malformed
    (with its message). --requeue-failed puts those back in the queue, for after the software was fixed."""
    from kiosk.device.database import Store
    from kiosk.device.database_file import DB_FILENAME

    settings = load_settings(args.config)
    data_dir = settings.store.data_dir
    if not (data_dir / DB_FILENAME).is_file():
        print(f"no database in {data_dir} yet (store.data_dir): nothing queued")
        return 0
    with Store.in_data_dir(data_dir) as store:
        if args.requeue_failed:
            n = store.requeue_failed()
            print(f"{n} batch(es) put back in the queue; they go with the next sync (`kiosk sync`, or the timer)")
        pending, failed, sent = store.pending_batches(), store.failed_batches(), store.sent_batches()
    last = max((b.sent_at for b in sent if b.sent_at), default=None)
    print(f"outbox in {data_dir}: {len(pending)} waiting, {len(sent)} sent "
          f"(last {last.isoformat() if last else 'never'}), {len(failed)} set aside")
    for b in failed:
        print(f"  set aside {b.batch_id}: {b.aggregates} aggregate(s) from {b.created_at:%Y-%m-%d %H:%M} UTC, refused "
              f"{b.failed_at:%Y-%m-%d %H:%M} UTC: {b.error}")
    if failed and not args.requeue_failed:
        print("after the fix (usually a software update): kiosk outbox --requeue-failed")
    return 0


DEVICE_COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "doctor": (cmd_doctor, "check camera, models, calibration, disk, clock, data directory, PIN and server; a fix for each problem"),
    "install-service": (cmd_install_service, "write the systemd units that run this terminal, and say how to enable them"),
    "heartbeat": (cmd_heartbeat, "tell the central server this terminal is alive"),
    "set-pin": (cmd_set_pin, "set the staff PIN (asked twice; only its hash is written into the settings file)"),
    "outbox": (cmd_outbox, "show the sync outbox; --requeue-failed retries batches the server refused"),
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
    elif name == "set-pin":
        parser.add_argument("--pin-stdin", action="store_true",
                            help="read the PIN from one line of standard input instead of asking twice (scripts)")
    elif name == "outbox":
        parser.add_argument("--requeue-failed", action="store_true",
                            help="put the batches the server refused back in the queue")


def _camera_spec(value: str) -> str:
    if not re.fullmatch(CAMERA_SOURCE_PATTERN, value):
        raise argparse.ArgumentTypeError(f'{value!r} is not a camera: give an index such as "0", or "picamera"')
    return value
