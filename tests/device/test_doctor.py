"""``kiosk doctor``: the real command on this machine (no camera, a closed port), then each check with one part
replaced (camera opener, clock, disk probe, HTTP server on 127.0.0.1)."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Self

import numpy as np
import pytest

from kiosk.cli import commands as cli
from kiosk.device.calibration import load_calibration
from kiosk.settings.tree import CameraSettings, Settings, StoreSettings
from kiosk.device.doctor import (
    Check,
    check_calibration,
    check_camera,
    check_clock,
    check_data_dir,
    check_database,
    check_disk,
    check_models,
    check_server,
    check_staff_pin,
    check_token,
    default_checks,
    mount_fstype,
    native_output_captured,
    ntp_synchronized,
    report_text,
    run_checks,
)
from kiosk.device.database import Store
from kiosk.settings.pin import hash_pin
from tests.localserver import LocalServer, QuietHandler

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- the real command ---------------------------------------------------------------------------------------

# `python -m kiosk` (what the console script runs) and `python -m kiosk.cli`: one registry behind both.
ENTRY_POINTS = ["kiosk", "kiosk.cli"]


@pytest.fixture(scope="module", params=ENTRY_POINTS)
def doctor_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`doctor` on this machine: a fresh data dir, a server URL on a closed port, camera index 99."""
    home = tmp_path_factory.mktemp("doctor")
    (home / "data").mkdir()
    config = home / "kiosk.toml"
    config.write_text(f'[store]\ndata_dir = "{home / "data"}"\n\n'
                      f'[sync]\nserver_url = "http://127.0.0.1:{closed_port()}"\ndevice_token = "t"\n')
    return subprocess.run(
        [sys.executable, "-m", request.param, "--config", str(config), "doctor", "--camera", "99"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )


def line_of(output: str, name: str) -> list[str]:
    """The report line of check ``name`` and its fix line."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.split()[1:2] == name.split()[:1] and name in line:
            return lines[i:i + 2]
    raise AssertionError(f"no {name!r} line in:\n{output}")


def test_doctor_without_a_camera_exits_non_zero(doctor_run: subprocess.CompletedProcess[str]) -> None:
    assert doctor_run.returncode == 1, doctor_run.stdout + doctor_run.stderr


def test_doctor_names_the_camera_failure_and_its_fix(doctor_run: subprocess.CompletedProcess[str]) -> None:
    verdict, fix = line_of(doctor_run.stdout, "camera")
    assert verdict.startswith("FAIL") and "no camera at index 99" in verdict
    assert "fix:" in fix and "/dev/video" in fix and "device.camera_source" in fix


def test_doctor_names_the_refused_server_and_its_fix(doctor_run: subprocess.CompletedProcess[str]) -> None:
    verdict, fix = line_of(doctor_run.stdout, "server")
    assert verdict.startswith("FAIL") and "connection refused" in verdict
    assert "sync.server_url" in fix


def test_doctor_ends_with_a_verdict_naming_the_failed_checks(doctor_run: subprocess.CompletedProcess[str]) -> None:
    last = doctor_run.stdout.strip().splitlines()[-1]
    assert last.startswith("NOT READY") and "camera" in last and "server" in last


def test_doctor_output_holds_the_report_only_no_native_library_noise(
        doctor_run: subprocess.CompletedProcess[str]) -> None:
    # OpenCV's "[ WARN:0@...]" about camera 99 and MediaPipe's absl/glog lines went to fd 2 meanwhile.
    assert doctor_run.stderr == ""
    assert not any(noise in doctor_run.stdout for noise in ("absl", "W0000", "I0000", "[ WARN", "XNNPACK"))


def test_doctor_passes_a_writable_data_dir(doctor_run: subprocess.CompletedProcess[str]) -> None:
    verdict, _ = line_of(doctor_run.stdout, "data dir")
    assert verdict.startswith(("OK", "WARN"))  # WARN only when the temp dir is on tmpfs/overlay


# ---- Check ----------------------------------------------------------------------------------------------------

def test_a_problem_without_a_fix_is_refused() -> None:
    with pytest.raises(ValueError, match="names no fix"):
        Check("camera", "fail", "no camera")


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="status must be one of"):
        Check("camera", "bad", "?", "?")  # type: ignore[arg-type]


# ---- camera ---------------------------------------------------------------------------------------------------

class FakeSource:
    def __init__(self, frame: np.ndarray) -> None:
        self.frame = frame

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        yield 0.0, self.frame


def test_a_camera_that_delivers_a_frame_passes_with_its_size() -> None:
    check = check_camera("0", (640, 480), opener=lambda spec, size: FakeSource(np.zeros((480, 640, 3), np.uint8)))
    assert (check.status, check.detail) == ("ok", "camera '0' delivers 640x480 frames")


def test_a_missing_pi_camera_points_at_the_ribbon_cable() -> None:
    from kiosk.vision.source import CameraNotFoundError

    def opener(spec: str, size: tuple[int, int]) -> Any:
        raise CameraNotFoundError("no Pi camera found")

    check = check_camera("picamera", (640, 480), opener=opener, devices=lambda: [])
    assert check.status == "fail" and "ribbon cable" in check.fix and "rpicam-hello" in check.fix


def test_a_pi_camera_library_that_is_not_importable_gets_a_software_fix() -> None:
    from kiosk.vision.source import SourceError

    def opener(spec: str, size: tuple[int, int]) -> Any:
        raise SourceError("picamera2 is not importable: on Raspberry Pi OS install python3-picamera2")

    check = check_camera("picamera", (640, 480), opener=opener, devices=lambda: [])
    assert check.status == "fail" and "apt-get install python3-picamera2" in check.fix
    assert "--system-site-packages" in check.fix and "ribbon" not in check.fix


def test_an_unsupported_size_points_at_the_size_settings() -> None:
    from kiosk.vision.source import UnsupportedResolutionError

    def opener(spec: str, size: tuple[int, int]) -> Any:
        raise UnsupportedResolutionError("camera 0 cannot deliver 4000x3000")

    check = check_camera("0", (4000, 3000), opener=opener, devices=lambda: ["/dev/video0"])
    assert check.status == "fail" and "camera.width_px" in check.fix


def test_a_missing_usb_camera_lists_the_video_devices_present() -> None:
    from kiosk.vision.source import CameraNotFoundError

    def opener(spec: str, size: tuple[int, int]) -> Any:
        raise CameraNotFoundError("no camera at index 2: is it plugged in / enabled? try `kiosk doctor`")

    check = check_camera("2", (640, 480), opener=opener, devices=lambda: ["/dev/video0", "/dev/video1"])
    assert "/dev/video0, /dev/video1" in check.detail and "kiosk doctor" not in check.detail


# ---- models ---------------------------------------------------------------------------------------------------

def _no_load(path: Path) -> None:
    pass


@pytest.mark.parametrize("case, backend, expected", [
    ("auto falls back to legacy pose", "auto", "warn"),
    ("tasks needs the bundle", "tasks", "fail"),
    ("the tracker does not need it", "tracker", "ok"),
])
def test_a_missing_pose_bundle(tmp_path: Path, case: str, backend: str, expected: str) -> None:
    check = check_models(backend, legacy_model=lambda: tmp_path / "pose_landmark_full.tflite",
                         bundle_path=lambda: tmp_path / "missing.task", load_bundle=_no_load)
    assert check.status == expected
    assert expected == "ok" or "kiosk.vision.models build" in check.fix


def test_a_bundle_mediapipe_rejects_fails(tmp_path: Path) -> None:
    bundle = tmp_path / "pose.task"
    bundle.write_bytes(b"not a bundle")

    def reject(path: Path) -> None:
        raise RuntimeError("unable to open zip archive")

    check = check_models("auto", legacy_model=lambda: tmp_path / "m.tflite", bundle_path=lambda: bundle, load_bundle=reject)
    assert check.status == "fail" and "zip archive" in check.detail


def test_a_wheel_without_models_fails_with_the_pinned_version() -> None:
    def missing() -> Path:
        raise FileNotFoundError("pose_landmark_full.tflite is not in the MediaPipe wheel")

    check = check_models("auto", legacy_model=missing)
    assert check.status == "fail" and "mediapipe==0.10.18" in check.fix


def test_the_real_pose_models_of_this_environment_load() -> None:
    assert check_models("auto").status != "fail"  # "warn" when setup could not build the bundle


# ---- disk -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case, free_mb, expected", [
    ("below the minimum", 150, "fail"),
    ("under twice the minimum", 300, "warn"),
    ("plenty", 5000, "ok"),
])
def test_free_disk_against_the_threshold(tmp_path: Path, case: str, free_mb: float, expected: str) -> None:
    usage = lambda path: SimpleNamespace(free=free_mb * 1e6)
    assert check_disk(tmp_path, 200, usage=usage).status == expected


def test_disk_is_measured_where_a_missing_data_dir_would_be(tmp_path: Path) -> None:
    seen: list[Path] = []
    check_disk(tmp_path / "not" / "yet", 1, usage=lambda p: seen.append(p) or SimpleNamespace(free=1e9))
    assert seen == [tmp_path]


# ---- clock ----------------------------------------------------------------------------------------------------

def test_a_clock_before_the_build_year_fails() -> None:
    check = check_clock(datetime(1970, 1, 1, tzinfo=UTC), ntp=lambda: True)
    assert check.status == "fail" and "RTC" in check.fix


@pytest.mark.parametrize("case, synced, expected", [
    ("synchronised", True, "ok"),
    ("offline", False, "warn"),
    ("cannot tell", None, "warn"),
])
def test_clock_sync_state(case: str, synced: bool | None, expected: str) -> None:
    assert check_clock(NOW, ntp=lambda: synced).status == expected


@pytest.mark.parametrize("case, stdout, code, expected", [
    ("synchronised", "yes\n", 0, True),
    ("not synchronised", "no\n", 0, False),
    ("no systemd", "", 1, None),
])
def test_timedatectl_answer_is_read(case: str, stdout: str, code: int, expected: bool | None) -> None:
    run = lambda *a, **kw: subprocess.CompletedProcess(a[0], code, stdout, "")
    assert ntp_synchronized(run) is expected


def test_no_timedatectl_means_cannot_tell() -> None:
    def run(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError("timedatectl")

    assert ntp_synchronized(run) is None


# ---- data dir and database --------------------------------------------------------------------------------------

def test_a_missing_data_dir_fails_with_the_commands_to_make_it(tmp_path: Path) -> None:
    check = check_data_dir(tmp_path / "absent", "kiosk", fstype=lambda p: "ext4")
    assert check.status == "fail" and "mkdir -p" in check.fix and "chown kiosk:" in check.fix


def test_a_data_dir_that_is_a_file_fails(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("")
    assert check_data_dir(tmp_path / "data", "kiosk", fstype=lambda p: "ext4").status == "fail"


def test_a_data_dir_on_a_volatile_file_system_warns(tmp_path: Path) -> None:
    check = check_data_dir(tmp_path, "kiosk", fstype=lambda p: "tmpfs")
    assert check.status == "warn" and "lost at the next reboot" in check.detail


def test_a_writable_data_dir_passes_and_leaves_nothing_behind(tmp_path: Path) -> None:
    assert check_data_dir(tmp_path, "kiosk", fstype=lambda p: "ext4").status == "ok"
    assert list(tmp_path.iterdir()) == []


def test_the_mount_holding_a_path_is_the_longest_prefix(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"overlay / overlay rw 0 0\n/dev/sda3 {tmp_path} ext4 rw 0 0\n/dev/sda4 {tmp_path}x ext4 rw 0 0\n")
    assert mount_fstype(tmp_path / "data", mounts) == "ext4"
    assert mount_fstype(Path("/usr"), mounts) == "overlay"


def test_a_sound_database_passes(tmp_path: Path) -> None:
    Store.in_data_dir(tmp_path).close()
    assert check_database(tmp_path).status == "ok"


def test_a_damaged_database_fails_and_is_left_where_it_is(tmp_path: Path) -> None:
    db = tmp_path / "terminal.sqlite"
    db.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4096)
    check = check_database(tmp_path)
    assert check.status == "fail" and "moves the damaged file aside" in check.fix
    assert db.exists() and not list(tmp_path.glob("*.corrupt-*"))


def test_a_database_check_does_not_create_a_database(tmp_path: Path) -> None:
    assert check_database(tmp_path).status == "ok"
    assert not (tmp_path / "terminal.sqlite").exists()


def test_the_database_check_is_read_only(tmp_path: Path) -> None:
    Store.in_data_dir(tmp_path).close()
    before = (tmp_path / "terminal.sqlite").read_bytes()
    check_database(tmp_path)
    assert (tmp_path / "terminal.sqlite").read_bytes() == before
    with sqlite3.connect(tmp_path / "terminal.sqlite") as conn:  # still a database the store can use
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# ---- server ---------------------------------------------------------------------------------------------------

class HealthServer(LocalServer):
    """Answers GET /api/v1/health with a set status on 127.0.0.1 (``404`` = a server without the endpoint)."""

    def __init__(self, status: int) -> None:
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                owner.paths.append(self.path)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.paths: list[str] = []
        super().__init__(Handler)


def test_a_healthy_server_passes_and_is_asked_at_the_health_endpoint() -> None:
    with HealthServer(200) as server:
        check = check_server(server.url + "/", 5)
    assert check.status == "ok" and server.paths == ["/api/v1/health"]


def test_a_server_without_the_health_endpoint_is_reachable_but_old() -> None:
    with HealthServer(404) as server:
        check = check_server(server.url, 5)
    assert check.status == "warn" and "older" in check.detail


def test_a_failing_server_fails_and_points_at_its_logs() -> None:
    with HealthServer(503) as server:
        check = check_server(server.url, 5)
    assert check.status == "fail" and "HTTP 503" in check.detail and "journalctl" in check.fix


def test_a_closed_port_is_connection_refused() -> None:
    check = check_server(f"http://127.0.0.1:{closed_port()}", 5)
    assert check.status == "fail" and "connection refused" in check.detail and "kiosk-central" in check.fix


def test_an_uncalibrated_camera_fails_with_the_calibrate_command() -> None:
    check = check_calibration(CameraSettings())
    assert check.status == "fail" and "not calibrated" in check.detail and "kiosk calibrate" in check.fix


def test_a_usable_calibration_passes_with_its_zones() -> None:
    check = check_calibration(load_calibration(ROOT / "tests" / "data" / "vtest_calibration.toml"))
    assert check.status == "ok" and "queue, service, staff" in check.detail


def test_a_calibration_whose_marks_disagree_fails_naming_the_mark() -> None:
    camera = load_calibration(ROOT / "tests" / "data" / "vtest_calibration.toml")
    marks = list(camera.floor_points)
    marks[2] = marks[2].model_copy(update={"image_px": (marks[2].image_px[0] + 80, marks[2].image_px[1])})
    check = check_calibration(camera.model_copy(update={"floor_points": marks}))
    assert check.status == "fail" and "tape mark #" in check.detail


def test_no_staff_pin_fails_with_the_set_pin_command() -> None:
    check = check_staff_pin(None)
    assert check.status == "fail" and "set-pin" in check.fix
    assert check_staff_pin(hash_pin("482916")).status == "ok"


def test_an_empty_token_fails_with_how_to_register() -> None:
    check = check_token("")
    assert check.status == "fail" and "add-device" in check.fix


# ---- running and reporting ------------------------------------------------------------------------------------

def test_a_check_that_crashes_becomes_a_failure_and_the_rest_still_run() -> None:
    def boom() -> Check:
        raise RuntimeError("driver exploded")

    results = run_checks([("camera", boom), ("token", lambda: check_token("t"))])
    assert [(c.name, c.status) for c in results] == [("camera", "fail"), ("token", "ok")]
    assert "driver exploded" in results[0].detail


def test_a_missing_data_dir_skips_the_database_check_instead_of_calling_it_ok(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    results = run_checks([("data dir", lambda: check_data_dir(missing, "kiosk")),
                          ("database", lambda: check_database(missing), "data dir")])
    assert [(c.name, c.status) for c in results] == [("data dir", "fail"), ("database", "skip")]
    assert "SKIP  database" in report_text(results) and "OK" not in report_text(results)


def test_the_default_checks_cover_calibration_and_the_staff_pin(tmp_path: Path) -> None:
    settings = Settings(store=StoreSettings(data_dir=tmp_path))
    assert {"calibration", "staff PIN"} <= {entry[0] for entry in default_checks(settings, settings.device)}


def test_native_output_is_captured_away_from_the_report() -> None:
    import os

    with native_output_captured() as native:
        os.write(2, b"W0000 00:00 inference_feedback_manager.cc:114] noise\n")
    assert "inference_feedback_manager" in native.text


def test_warnings_alone_leave_the_terminal_ready() -> None:
    text = report_text([Check("clock", "warn", "not synchronised", "allow NTP"), Check("token", "ok", "set")])
    assert text.splitlines()[-1] == "READY, with warnings (clock)"
