"""The `kiosk` command (also ``python -m kiosk``). Only this module turns errors into messages and exit codes.

Every command takes ``--config FILE`` and ``-v`` before or after its name.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Callable

from kiosk import __version__
from kiosk.settings.tree import CameraSettings, ConfigError, Settings, load_settings

EXIT_USAGE, EXIT_BAD_INPUT = 2, 3


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run a scripted scene (SCENE.toml, see scenes/) through the measuring core, with the camera model instead of a
    camera: the JSON of DESIGN §5 with the scene's truth beside the measures, and a comparison table on stderr."""
    from kiosk.core.report import comparison_table, interaction_json, summary
    from kiosk.sim.simulate import load_scene, match, run_scene

    settings = _settings(args)
    scene = load_scene(args.scene)
    result = run_scene(scene, settings)
    doc = {
        "video": f"simulated:{scene.name}",
        "frames": result.frames,
        "duration_s": scene.duration_s,
        "fps_processed": scene.fps,
        "interactions": [interaction_json(x) for x in result.interactions],
        "truth": [interaction_json(x) for x in result.truth],
        "summary": summary(result.interactions),
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    print(f"\n{scene.name}: {scene.description}", file=sys.stderr)
    print(comparison_table(match(result.interactions, result.truth)), file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole story on one machine, from a source checkout: a central server, three stores' terminals measuring a
    day of scenes, sync, the daily summaries, and the dashboard until Ctrl+C (or SIGTERM)."""
    from kiosk.demo.run import run_demo

    run_demo(args.workdir, wait=not args.no_wait, port=args.port, real_people=_real_people_runner(args))
    return 0


def _real_people_runner(args: argparse.Namespace):
    """Composed real-people scenes through MediaPipe, when the composer and its media are installed."""
    if args.scripted_only:
        return None
    try:
        from kiosk.vision.compose import OPENCV_DATA
        from kiosk.demo.real_people import real_people_interactions
    except ImportError:
        return None
    if not OPENCV_DATA.exists():
        print("demo: Debian's opencv-doc is not installed; the real-people scenes are skipped", file=sys.stderr)
        return None
    return real_people_interactions


def cmd_analyze(args: argparse.Namespace) -> int:
    """Measure a video file as if it came from the calibrated counter camera (the settings' [camera]): the JSON of
    DESIGN §5 on stdout (or --out), progress on stderr."""
    from kiosk.device.allocator import tune_malloc

    tune_malloc()  # first, before MediaPipe starts its threads: 15 MB off the peak (kiosk/device/allocator.py)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from kiosk.device.pipeline import analyze_video
    from kiosk.vision.source import SourceError

    settings = _settings(args)
    columns = (TextColumn("analyzing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, transient=True, disable=args.quiet) as bar:
            task = bar.add_task("frames", total=None)
            doc = analyze_video(args.video, settings, lambda n, total: bar.update(task, completed=n, total=total),
                                max_frames=args.max_frames, overlay=args.overlay)
    except SourceError as exc:
        print(f"kiosk analyze: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"{doc['frames']} frames, {len(doc['interactions'])} interactions -> {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Check a calibration (tape marks, zones, camera height) and, when usable, write it into the settings file
    given with --out. Exit 3 when it is not usable."""
    from kiosk.device.calibration import apply_calibration, check_calibration, load_calibration

    camera = load_calibration(args.source)
    report = check_calibration(camera)
    print(report.text())
    if not report.ok:
        return EXIT_BAD_INPUT
    if args.walk is not None:
        code = _check_walk(args, camera)
        if code:
            return code  # the calibration is not stored: the walk says this camera position measures badly
    if args.out:
        apply_calibration(args.out, camera)
        print(f"calibration written to {args.out} [camera]")
    return 0


def _check_walk(args: argparse.Namespace, camera: CameraSettings) -> int:
    """Film of someone standing on each tape mark -> the placement error per mark and side, and the verdict."""
    from kiosk.vision.source import SourceError
    from kiosk.device.walk_check import EXIT_WALK_NOT_GOOD
    from kiosk.device.walk_video import check_walk

    settings = _settings(args).model_copy(update={"camera": camera})
    print(f"watching the walk in {args.walk} ...", file=sys.stderr)
    try:
        report = check_walk(args.walk, settings)
    except SourceError as exc:
        print(f"kiosk calibrate: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(report.text())
    return 0 if report.ok else EXIT_WALK_NOT_GOOD


def cmd_run(args: argparse.Namespace) -> int:
    """The counter terminal app: rating screen, privacy notice, staff screen, and with a camera (or a video
    played as one) the live pipeline measuring every interaction. Under systemd it reports READY and WATCHDOG
    (kiosk/device/watchdog.py)."""
    from kiosk.device.allocator import tune_malloc

    tune_malloc()  # first, before Kivy, the camera and MediaPipe start their threads (kiosk/device/allocator.py)
    from kiosk.core.rubrics import RubricError
    from kiosk.device.database import StoreError
    from kiosk.terminal.fonts import FontsMissingError
    from kiosk.terminal.launch import run_terminal
    from kiosk.device.watchdog import Notifier, WatchedFeed

    settings = _settings(args)
    source = args.source or settings.device.camera_source
    notifier = Notifier()
    if source == "demo":
        from kiosk.terminal.fakefeed import FakeFeed

        factory = lambda store: WatchedFeed(FakeFeed(demo=True), notifier)  # noqa: E731
    else:
        from kiosk.device.live import LiveFeed
        from kiosk.core.rubrics import load_store_rubric

        try:
            rubric = load_store_rubric(settings.store.rubric)
        except RubricError as exc:
            print(f"kiosk run: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        factory = lambda store: WatchedFeed(LiveFeed(settings, source, store, rubric), notifier)  # noqa: E731
    _stop_app_on_sigterm()
    try:
        run_terminal(settings, factory)
    except (FontsMissingError, StoreError) as exc:
        print(f"kiosk run: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _stop_app_on_sigterm() -> None:
    """``systemctl stop`` sends SIGTERM: close the app as its window would (feed and sync stopped, STOPPING=1,
    the store closed) instead of dying mid-write."""
    def stop(signum: int, frame: object) -> None:
        from kivy.app import App
        from kivy.clock import Clock

        app = App.get_running_app()
        if app is None:  # not up yet: nothing to close
            # Python drops an exception raised inside a finalizer ("Exception ignored in"), and a handler may run
            # in one; then the app would come up and run until systemd kills it. It closes at its first frame.
            Clock.schedule_once(lambda dt: App.get_running_app().stop())
            raise SystemExit(128 + signum)
        app.stop()

    signal.signal(signal.SIGTERM, stop)


def cmd_sync(args: argparse.Namespace) -> int:
    """Aggregate the closed days (small groups suppressed) and send the outbox to the central server once; exit 4
    when it could not be sent (it stays queued)."""
    from kiosk.device.sync import SyncError, run_sync

    settings = _settings(args)
    try:
        report = run_sync(settings)
    except SyncError as exc:
        print(f"kiosk sync: {exc}", file=sys.stderr)
        return 4
    print(report.summary())
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "analyze": (cmd_analyze, "measure a video file (VIDEO) with the calibrated camera"),
    "calibrate": (cmd_calibrate, "check a calibration TOML and store it in the settings file"),
    "sync": (cmd_sync, "aggregate closed days and send them to the central server"),
    "run": (cmd_run, "the counter terminal app (rating screen, notice, staff screen)"),
    "simulate": (cmd_simulate, "simulate a scripted scene (SCENE.toml) and measure it"),
    "demo": (cmd_demo, "the whole story: central server, three stores' terminals, sync, summaries, dashboard"),
}


from kiosk.cli.device import DEVICE_COMMANDS, add_arguments as add_device_arguments  # noqa: E402

from kiosk.cli.central import CENTRAL_COMMANDS, add_arguments as add_central_arguments  # noqa: E402

COMMANDS.update(DEVICE_COMMANDS)
COMMANDS.update(CENTRAL_COMMANDS)


def _description(func: Callable[[argparse.Namespace], int]) -> str:
    return " ".join((func.__doc__ or "").split())


def build_parser() -> argparse.ArgumentParser:
    # The options every command takes, accepted after its name too. SUPPRESS: given only after the command, the
    # value set before it (or the default) is not overwritten.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, metavar="FILE",
                        help="settings TOML (KIOSK_* variables override it; relative paths in it are relative to it)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging")
    p = argparse.ArgumentParser(prog="kiosk", description="Service-quality terminal for shops and branches.",
                                epilog="Every command takes --config FILE and -v, before or after its name; "
                                       "`kiosk COMMAND --help` explains it.")
    p.add_argument("--version", action="version", version=f"kiosk {__version__}")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="settings TOML (KIOSK_* variables override it; relative paths in it are relative to it)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (func, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=_description(func), parents=[common])
        if name == "simulate":
            sp.add_argument("scene", type=Path, metavar="SCENE.toml",
                            help="a scripted scene: people, their moves and the camera (the repository's scenes/)")
            sp.add_argument("--out", type=Path, default=None, help="write the JSON here instead of stdout")
        elif name == "analyze":
            sp.add_argument("video", type=Path, metavar="VIDEO",
                            help="a video file OpenCV can read (mp4, avi, ...), filmed by the calibrated camera")
            sp.add_argument("--out", type=Path, default=None, help="write the JSON here instead of stdout")
            sp.add_argument("--quiet", action="store_true", help="no progress bar")
            sp.add_argument("--max-frames", type=int, default=None, help="stop after this many analysed frames")
            sp.add_argument("--overlay", type=Path, default=None, metavar="OUT.mp4",
                            help="also write a local debug video (skeletons, tracks, zones, live measures); "
                                 "it holds the camera's frames, so it is off unless asked for")
        elif name == "calibrate":
            sp.add_argument("source", type=Path, metavar="CALIBRATION.toml",
                            help="TOML with a [camera] table: floor_points, zones, height_m, hfov_deg")
            sp.add_argument("--out", type=Path, default=None, help="settings file to write the calibration into")
            sp.add_argument("--walk", type=Path, default=None, metavar="VIDEO",
                            help="video of someone standing 3 s on each tape mark: reports the placement error per "
                                 "mark and side of the counter; exit 5 (and nothing written) when not good enough")
        elif name == "demo":
            sp.add_argument("--workdir", type=Path, default=Path("var/demo"),
                            help="emptied and refilled by the demo (default var/demo)")
            sp.add_argument("--port", type=int, default=None, help="central server port (default: a free one)")
            sp.add_argument("--no-wait", action="store_true", help="stop after printing instead of serving the dashboard")
            sp.add_argument("--scripted-only", action="store_true", help="skip the real-people (MediaPipe) scenes")
        elif name == "run":
            sp.add_argument("--source", default=None, metavar="SOURCE",
                            help="camera index, 'picamera' or a video file (default: device.camera_source); "
                                 "'demo' runs a simulated customer feed without a camera")
        add_device_arguments(name, sp)
        add_central_arguments(name, sp)
    return p


def main(argv: list[str] | None = None) -> int:
    # MediaPipe's C++ logging (GPU probes, delegate notes) would bury the progress bar; warnings still show.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    func = COMMANDS[args.command][0]
    try:
        return func(args)
    except (ConfigError, ValueError, OSError) as exc:
        print(f"kiosk {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

