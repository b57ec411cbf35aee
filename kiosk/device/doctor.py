"""``kiosk doctor``: is this terminal fit to run unattended? One verdict per part, each with its fix.

Every check is a function returning a :class:`Check` and takes what it touches (camera opener, clock, HTTP
getter, disk probe) as an argument with a real default, so tests replace just that part. ``default_checks``
wires them to the settings; ``run_checks`` runs them so that one crashing check cannot hide the others, and
skips a check whose prerequisite failed (no "database OK" beside a missing data directory).

    with native_output_captured():   # OpenCV's and MediaPipe's own lines stay out of the report
        checks = run_checks(default_checks(settings, device))
    print(report_text(checks))
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import requests

from kiosk.clock import utc_now
from kiosk.settings.tree import Settings
from kiosk.settings.device import DeviceSettings
from kiosk.device.database_file import DB_FILENAME, integrity_problems

Status = Literal["ok", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail", "skip")
HEALTH_ENDPOINT = "/api/v1/health"
# This release was built in 2026: a clock that reads earlier is certainly wrong (typically a Pi without a
# real-time clock that booted offline and fell back to an old saved time).
EARLIEST_PLAUSIBLE = datetime(2026, 1, 1, tzinfo=UTC)
# File systems whose contents vanish at reboot: a data directory on one of them loses every interaction.
VOLATILE_FS = frozenset({"overlay", "tmpfs", "ramfs"})


@dataclass(frozen=True)
class Check:
    """One verdict: ``status`` is "ok", "warn" (works, but needs attention), "fail" (the terminal cannot do its job)
    or "skip" (not checked, because a check it needs failed).

    ``detail`` says what was found; ``fix`` says what to do, and is required unless the status is ok.
    """

    name: str
    status: Status
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.status != "ok" and not self.fix:
            raise ValueError(f"check {self.name!r} is {self.status} but names no fix")


CheckFn = Callable[[], Check]


# ---- camera ---------------------------------------------------------------------------------------------------

def _open_source(spec: str, size: tuple[int, int]) -> Any:
    # Imported here: OpenCV loads only when the camera is checked, and a broken OpenCV install becomes a failed
    # check with its message instead of a crash of the whole doctor.
    from kiosk.vision.source import open_source

    return open_source(spec, size=size)


def video_devices() -> list[str]:
    """The V4L2 device nodes present (``/dev/video*``)."""
    return sorted(glob.glob("/dev/video*"))


def check_camera(
    spec: str,
    size: tuple[int, int],
    *,
    opener: Callable[[str, tuple[int, int]], Any] = _open_source,
    devices: Callable[[], list[str]] = video_devices,
) -> Check:
    """Open the counter camera (``device.camera_source``) at ``size`` (width, height px) and read one frame."""
    name = "camera"
    try:
        with opener(spec, size) as source:
            _, frame = next(iter(source))
    except Exception as exc:  # SourceError and its kinds, ImportError, driver errors: all mean "no usable camera"
        # The source's own advice is to run this very command; here it is noise.
        said = re.sub(r"[:;,]?\s*try `kiosk doctor`", "", str(exc)) or type(exc).__name__
        return Check(name, "fail", f"camera {spec!r}: {said}{_device_note(spec, devices())}", _camera_fix(spec, exc))
    height, width = frame.shape[:2]
    return Check(name, "ok", f"camera {spec!r} delivers {width}x{height} frames")


def _device_note(spec: str, present: list[str]) -> str:
    if spec == "picamera":
        return ""
    return f" (video devices here: {', '.join(present)})" if present else " (this machine has no /dev/video* device at all)"


def _camera_fix(spec: str, exc: Exception) -> str:
    kind = type(exc).__name__
    if isinstance(exc, ImportError) or "not importable" in str(exc):
        # A software cause: no cable to reseat.
        return ("install the camera library: `apt-get install python3-picamera2`, and make the venv see it (recreate "
                "it with `python3 -m venv --system-site-packages`, firmware_notes/03-os-and-python.md); then run "
                "`kiosk doctor` again")
    if kind == "UnsupportedResolutionError":
        return ("set camera.width_px/height_px to a size the camera offers (`v4l2-ctl --list-formats-ext`, or "
                "`rpicam-hello --list-cameras` for a Camera Module) and calibrate again at that size")
    if spec == "picamera":
        return ("power off, reseat the ribbon cable at both ends (Pi 5: the 22-pin CAM/DISP connector), check that "
                "`rpicam-hello --list-cameras` lists the camera; the venv must see python3-picamera2 "
                "(created with --system-site-packages)")
    return ("plug the USB camera in (try another port or cable), check `ls /dev/video*` and "
            "`v4l2-ctl --list-devices`, then set device.camera_source to its index; "
            'for a Camera Module on the ribbon cable set device.camera_source = "picamera"')


# ---- models ---------------------------------------------------------------------------------------------------

def _legacy_model() -> Path:
    from kiosk.vision.models import POSE_LANDMARKS_FULL, wheel_model

    return wheel_model(POSE_LANDMARKS_FULL)


def _bundle_path() -> Path:
    from kiosk.vision.models import default_bundle_path

    return default_bundle_path()


def _load_bundle(path: Path) -> None:
    from kiosk.vision.models import check_pose_bundle

    check_pose_bundle(path)


def check_models(
    backend: str,
    *,
    legacy_model: Callable[[], Path] = _legacy_model,
    bundle_path: Callable[[], Path] = _bundle_path,
    load_bundle: Callable[[Path], None] = _load_bundle,
) -> Check:
    """The pose models: the wheel's single-person model must exist; the multi-person bundle should load.

    Args:
        backend: ``vision.backend``; with "tasks" a missing bundle fails, with "auto" it only warns
            (legacy pose then finds one person per zone crop), the tracker does not need it.
    """
    name = "models"
    build = "build it: <venv>/bin/python -m kiosk.vision.models build"
    try:
        legacy = legacy_model()
    except Exception as exc:  # ModelError, or an import error of a broken MediaPipe: either way no pose model
        return Check(name, "fail", str(exc), "reinstall the venv with mediapipe==0.10.18 (aarch64) / 0.10.21 (x86_64), "
                     "whose wheels ship the pose models (firmware_notes/03-os-and-python.md)")
    path = bundle_path()
    if not path.is_file() and backend == "tracker":
        return Check(name, "ok", f"the tracker runs the wheel's own models ({legacy.name}); the per-region "
                     f"bundle {path.name} is not built (only vision.backend auto or tasks needs it)")
    if not path.is_file():
        status: Status = "fail" if backend == "tasks" else "warn"
        return Check(name, status, f"pose bundle {path} is missing: only legacy pose ({legacy.name}) can run", build)
    try:
        load_bundle(path)
    except Exception as exc:  # MediaPipe's native loader raises assorted types
        return Check(name, "fail", f"pose bundle {path} does not load: {exc}", "re" + build)
    return Check(name, "ok", f"pose bundle {path.name} loads; legacy model present")


def _measure_fps(spec: str, settings: Settings) -> Any:
    from kiosk.device.pipeline import measure_throughput

    return measure_throughput(settings, _open_source(spec, (settings.camera.width_px, settings.camera.height_px)))


def check_fps(spec: str, settings: Settings, *, measure: Callable[[str, Settings], Any] = _measure_fps) -> Check:
    """Analyse the camera's frames for a few seconds as the terminal does; the rate achieved against ``vision.max_fps``."""
    try:
        got = measure(spec, settings)
    except Exception as exc:  # camera or model trouble: the checks above name it and its fix
        return Check("fps", "fail", f"could not analyse frames: {exc}", "fix the camera and models checks first")
    detail = (f"{got.fps:.1f} fps analysed of vision.max_fps {settings.vision.max_fps:g} "
              f"({got.people:.1f} people in view, {got.dropped} camera frames dropped)")
    if got.fps >= 0.9 * settings.vision.max_fps:
        return Check("fps", "ok", detail)
    return Check("fps", "warn", detail, "each person in view costs a landmark pass: lower vision.max_fps, keep other "
                 "programs off the terminal (firmware_notes/08-thermal-performance.md)")


# ---- calibration ----------------------------------------------------------------------------------------------

def check_calibration(camera: Any) -> Check:
    """The counter is calibrated (tape marks, zones, camera height) well enough to measure (``kiosk calibrate``)."""
    from kiosk.device.calibration import check_calibration as calibration_report

    name = "calibration"
    fix = ("mark the floor, take a still of the empty counter and run `kiosk calibrate CALIBRATION.toml --out "
           "SETTINGS.toml` until it says usable (firmware_notes/02-camera-placement.md)")
    if not camera.floor_points:
        return Check(name, "fail", "the camera is not calibrated: [camera] has no tape marks (floor_points)", fix)
    if not camera.zones:
        return Check(name, "fail", "[camera] has no zones: staff, service and queue polygons are needed", fix)
    report = calibration_report(camera)
    if not report.ok:
        problems = [line.removeprefix("FAIL  ") for line in report.lines if line.startswith("FAIL")]
        return Check(name, "fail", "calibration not usable: " + "; ".join(problems), fix)
    zones = ", ".join(sorted(z.name for z in camera.zones))
    return Check(name, "ok", f"{len(camera.floor_points)} tape marks agree; zones {zones}")


# ---- disk -----------------------------------------------------------------------------------------------------

def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent: the file system the directory is (or will be) on."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(
    data_dir: Path, min_free_mb: float, *, usage: Callable[[Path], Any] = shutil.disk_usage
) -> Check:
    """Free space where the database lives: fail below ``min_free_mb``, warn below twice that."""
    name = "disk"
    free_mb = usage(_existing(Path(data_dir))).free / 1e6
    detail = f"{free_mb:,.0f} MB free for {data_dir} (minimum {min_free_mb:,.0f} MB)"
    fix = ("free space: `journalctl --vacuum-size=50M`, `apt-get clean`, remove old releases in /srv/kiosk/releases; "
           "or lower store.max_db_mb / privacy.retention_days")
    if free_mb < min_free_mb:
        return Check(name, "fail", detail, fix)
    if free_mb < 2 * min_free_mb:
        return Check(name, "warn", detail + ": filling up", fix)
    return Check(name, "ok", detail)


# ---- clock ----------------------------------------------------------------------------------------------------

def ntp_synchronized(run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> bool | None:
    """Whether systemd reports the clock NTP-synchronised; None when it cannot tell (no timedatectl, no systemd)."""
    try:
        out = run(["timedatectl", "show", "--property=NTPSynchronized", "--value"],
                  capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    if out.returncode != 0 or value not in ("yes", "no"):
        return None
    return value == "yes"


def check_clock(
    now: datetime, *, ntp: Callable[[], bool | None] = ntp_synchronized, earliest: datetime = EARLIEST_PLAUSIBLE
) -> Check:
    """The wall clock stamps every interaction's day and hour: it must be plausible, and should be NTP-synchronised."""
    name = "clock"
    if now < earliest:
        return Check(name, "fail", f"the clock reads {now:%Y-%m-%d %H:%M} UTC, before this software was built",
                     "connect the network so NTP can set the time (`timedatectl timesync-status`); on a Pi 5 fit the RTC "
                     "battery, on a Pi 4 an RTC module (firmware_notes/06-time.md)")
    synced = ntp()
    if synced is None:
        return Check(name, "warn", f"{now:%Y-%m-%d %H:%M} UTC; cannot tell whether it is NTP-synchronised (`timedatectl` gave no answer)",
                     "compare the time with a phone's; on the device `timedatectl show` must work (systemd-timesyncd)")
    if not synced:
        return Check(name, "warn", f"{now:%Y-%m-%d %H:%M} UTC, not NTP-synchronised (offline, or NTP blocked)",
                     "allow UDP port 123 to the NTP server, or set NTP= in /etc/systemd/timesyncd.conf.d/kiosk.conf "
                     "to the company's time server (firmware_notes/06-time.md)")
    return Check(name, "ok", f"{now:%Y-%m-%d %H:%M} UTC, NTP-synchronised")


# ---- data directory and database ------------------------------------------------------------------------------

def mount_fstype(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str | None:
    """The file system type of the mount holding ``path`` (longest mount point that contains it), or None."""
    try:
        lines = mounts_file.read_text().splitlines()
    except OSError:
        return None
    target, best, fstype = str(_existing(path).resolve()), -1, None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, fstype = len(point), fields[2]
    return fstype


def check_data_dir(
    data_dir: Path, service_user: str, *, fstype: Callable[[Path], str | None] = mount_fstype
) -> Check:
    """The data directory exists, can be written, and survives a reboot."""
    name = "data dir"
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return Check(name, "fail", f"{data_dir} (store.data_dir) does not exist",
                     f"mount the data partition there, or `mkdir -p {data_dir} && chown {service_user}: {data_dir}`")
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".doctor-") as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return Check(name, "fail", f"{data_dir} cannot be written: {exc.strerror or exc}",
                     f"`chown -R {service_user}: {data_dir}`; if the file system is read-only, remount it or check the card")
    kind = fstype(data_dir)
    if kind in VOLATILE_FS:
        return Check(name, "warn", f"{data_dir} is on {kind}: everything written there is lost at the next reboot",
                     "point store.data_dir at the writable data partition (firmware_notes/05-storage.md)")
    owner = _owner(data_dir)
    if os.geteuid() == 0 and _user_exists(service_user) and owner != service_user:
        return Check(name, "warn", f"{data_dir} is writable by root but owned by {owner}, not the service user",
                     f"`chown -R {service_user}: {data_dir}`")
    return Check(name, "ok", f"{data_dir} is writable ({kind or 'unknown'} file system)")


def check_database(data_dir: Path) -> Check:
    """``PRAGMA integrity_check`` on the terminal database, read-only: nothing is moved, created or migrated."""
    name = "database"
    path = Path(data_dir) / DB_FILENAME
    if not path.exists():
        return Check(name, "ok", f"no database yet at {path}; the app creates it on first start")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            problems = integrity_problems(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        problems = [str(exc)]
    if problems:
        return Check(name, "fail", f"{path} is damaged: {'; '.join(problems[:3])}",
                     "restart kiosk-terminal: on opening it moves the damaged file aside (keep that .corrupt file for "
                     "support: unsent figures may be in it) and starts a new database")
    return Check(name, "ok", f"{path} passes the integrity check ({path.stat().st_size / 1e6:,.1f} MB)")


def _owner(path: Path) -> str:
    uid = path.stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


# ---- central server -------------------------------------------------------------------------------------------

def check_server(
    server_url: str,
    timeout_s: float,
    *,
    ca_bundle: Path | None = None,
    get: Callable[..., requests.Response] = requests.get,
) -> Check:
    """GET ``{server_url}/api/v1/health``. 200: reachable; 404: reachable but an older server; else what failed."""
    name = "server"
    url = server_url.rstrip("/") + HEALTH_ENDPOINT
    start = time.monotonic()
    try:
        response = get(url, timeout=timeout_s, verify=str(ca_bundle) if ca_bundle else True, allow_redirects=False)
    except requests.exceptions.SSLError as exc:
        return Check(name, "fail", f"TLS to {url} failed: {exc}",
                     "set sync.ca_bundle to the CA certificate (PEM) that signed the server's certificate, and check "
                     "the clock: a wrong date makes valid certificates look expired")
    except requests.exceptions.ProxyError as exc:
        return Check(name, "fail", f"the proxy refused {url}: {exc}",
                     "check HTTPS_PROXY/NO_PROXY in the units' drop-ins (firmware_notes/09-network.md)")
    except requests.exceptions.ConnectTimeout:
        return Check(name, "fail", f"no answer from {url} within {timeout_s:g} s (connection timed out)",
                     "check the network (`ip addr`, `ping` the gateway) and that a firewall lets HTTPS out to the server")
    except requests.exceptions.ConnectionError as exc:
        refused = "refused" in str(exc).lower()
        what = "connection refused" if refused else f"cannot connect ({_reason(exc)})"
        fix = ("start the central server (`systemctl start kiosk-central` on its machine) or correct sync.server_url "
               "(scheme, host and port)") if refused else (
               "check sync.server_url's host name (`getent hosts <host>`), the network and DNS")
        return Check(name, "fail", f"{url}: {what}", fix)
    except requests.Timeout:
        return Check(name, "fail", f"{url} accepted the connection but sent no answer within {timeout_s:g} s",
                     "the server is overloaded or hanging: check its logs (`journalctl -u kiosk-central`)")
    except requests.RequestException as exc:
        return Check(name, "fail", f"{url}: {exc}", "check sync.server_url")
    elapsed = time.monotonic() - start
    status = response.status_code
    if status == 200:
        return Check(name, "ok", f"{url} answers (HTTP 200 in {elapsed:.2f} s)")
    if status == 404:
        return Check(name, "warn", f"{url} answers HTTP 404: the server is reachable but older (no health endpoint)",
                     "update the central server; syncing may still work")
    if 300 <= status < 400:
        return Check(name, "fail", f"{url} redirects (HTTP {status}) to {response.headers.get('Location', '?')}",
                     "put the final address in sync.server_url (https:// when the server redirects to it)")
    return Check(name, "fail", f"{url} answers HTTP {status}",
                 "the server is up but unwell: check its logs (`journalctl -u kiosk-central`)" if status >= 500 else
                 "a proxy or firewall answers in the server's place: check sync.server_url and HTTPS_PROXY")


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."


def check_token(device_token: str) -> Check:
    """A device token is set (its validity shows at the first sync or heartbeat)."""
    if not device_token:
        return Check("token", "fail", "sync.device_token is empty: nothing can be sent to the central server",
                     "register the device (`kiosk central add-device`) and set the printed token as [sync] device_token")
    return Check("token", "ok", "sync.device_token is set")


def check_staff_pin(pin_hash: str | None) -> Check:
    """A staff PIN is set, so staff can open the staff screen (camera status, preview, outbox)."""
    if not pin_hash:
        return Check("staff PIN", "fail", "terminal.staff_pin_hash is not set: the staff screen cannot be opened",
                     "kiosk --config SETTINGS.toml set-pin (asks for the PIN twice, writes only its hash)")
    return Check("staff PIN", "ok", "a staff PIN is set")


# ---- output of native libraries -------------------------------------------------------------------------------

@dataclass
class NativeOutput:
    """What was written to file descriptor 2 while :func:`native_output_captured` was active."""

    text: str = ""


@contextmanager
def native_output_captured() -> Iterator[NativeOutput]:
    """Send file descriptor 2 to a temporary file meanwhile: OpenCV and MediaPipe's C++ (absl, glog, TFLite) write
    there directly, below Python's logging, and would mix their lines into the technician's report."""
    import sys

    captured = NativeOutput()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", "replace")


# ---- running ----------------------------------------------------------------------------------------------------

def default_checks(
    settings: Settings, device: DeviceSettings, *, now: Callable[[], datetime] | None = None
) -> list[tuple[str, CheckFn] | tuple[str, CheckFn, str]]:
    """Every check of a terminal, wired to its settings, in the order a technician fixes things. A third element
    names the check this one needs: when that failed, this one is skipped."""
    data_dir, sync = Path(settings.store.data_dir), settings.sync
    size = (settings.camera.width_px, settings.camera.height_px)
    clock = now or utc_now
    return [
        ("camera", lambda: check_camera(device.camera_source, size)),
        ("models", lambda: check_models(settings.vision.backend)),
        ("calibration", lambda: check_calibration(settings.camera)),
        ("fps", lambda: check_fps(device.camera_source, settings), "camera"),
        ("data dir", lambda: check_data_dir(data_dir, device.service_user)),
        ("database", lambda: check_database(data_dir), "data dir"),
        ("disk", lambda: check_disk(data_dir, device.min_free_disk_mb)),
        ("clock", lambda: check_clock(clock())),
        ("staff PIN", lambda: check_staff_pin(settings.terminal.staff_pin_hash)),
        ("token", lambda: check_token(sync.device_token)),
        ("server", lambda: check_server(sync.server_url, device.health_timeout_s, ca_bundle=sync.ca_bundle)),
    ]


def run_checks(checks: Iterable[tuple[str, CheckFn] | tuple[str, CheckFn, str]]) -> list[Check]:
    """Run each check; one that raises becomes a failed verdict instead of stopping the rest, and one whose
    prerequisite (a third element, the name of an earlier check) failed is skipped."""
    results: list[Check] = []
    for name, fn, *needs in checks:
        broken = [c for c in results if c.name in needs and c.status in ("fail", "skip")]
        if broken:
            results.append(Check(name, "skip", f"not checked: it needs the {broken[0].name} check to pass",
                                 f"fix the {broken[0].name} check first"))
            continue
        try:
            results.append(fn())
        except Exception as exc:  # a bug in one check must not hide the verdicts of the others
            results.append(Check(name, "fail", f"the check itself failed: {type(exc).__name__}: {exc}",
                                 "run `kiosk -v doctor` and send the output to support"))
    return results


def failed(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if c.status == "fail"]


def report_text(checks: Sequence[Check]) -> str:
    """The technician's report: one line per check, its fix under it, and a verdict."""
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for c in checks:
        lines.append(f"{c.status.upper():<5} {c.name:<{width}}  {c.detail}")
        if c.fix:
            lines.append(f"{'':<5} {'':<{width}}  fix: {c.fix}")
    bad, warned = failed(checks), [c.name for c in checks if c.status == "warn"]
    if bad:
        verdict = (f"NOT READY: {len(bad)} check(s) failed ({', '.join(c.name for c in bad)}); apply the fixes and run "
                   "`kiosk doctor` again")
    else:
        verdict = "READY" + (f", with warnings ({', '.join(warned)})" if warned else "")
    return "\n".join(lines + ["", verdict])
