"""The terminal as the installer gets it: every pin installable on the Pi, and the built wheel running on its own.

1. Every dependency in pyproject.toml (and what it pulls in) resolves to wheels for the device: CPython 3.11 on
   aarch64 with Raspberry Pi OS Bookworm's glibc 2.36. pip resolves it against the real registry as `pip install`
   on the Pi would, but with ``--dry-run`` (metadata only, nothing installed). Skipped, saying so, when the
   registry cannot be reached.
2. The wheel is built from a copy of the sources, installed into a fresh virtual environment outside the checkout,
   and `kiosk run` is started from yet another folder with a video as its camera, under Xvfb, for 20 s: it must
   still run, print no error, tell systemd READY and WATCHDOG, stop cleanly on SIGTERM, and have stored an
   interaction. The new venv gets the wheel only (``--no-deps``); its dependencies come from the test's own
   environment through a .pth file, so the test takes seconds instead of a 500 MB install, and is still honest
   about the part that broke: the files of *this* package, found from the installed wheel, not the checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
CALIBRATION = ROOT / "tests" / "data" / "vtest_calibration.toml"
PI_GLIBC_MINOR = 36  # Raspberry Pi OS Bookworm: glibc 2.36
RUN_S, MAX_RUN_S = 20, 90
NETWORK_TROUBLE = re.compile(r"NewConnectionError|Max retries exceeded|Temporary failure in name resolution|"
                             r"Name or service not known|ConnectTimeout|Network is unreachable|SSLError")

pytestmark = pytest.mark.slow


def device_requirements() -> list[str]:
    """The [project] dependencies that apply on the Pi, markers evaluated for it (pip would evaluate them for
    the machine it runs on)."""
    env = {**default_environment(), "platform_machine": "aarch64", "sys_platform": "linux", "platform_system": "Linux",
           "python_version": "3.11", "python_full_version": "3.11.2", "implementation_name": "cpython",
           "platform_python_implementation": "CPython"}
    out = []
    for line in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            req.marker = None
            out.append(str(req))
    return out


def test_the_pi_gets_its_own_mediapipe_pin():
    reqs = device_requirements()
    assert "mediapipe==0.10.18" in reqs and not any(r.startswith("mediapipe==0.10.21") for r in reqs)


def resolve_for_the_pi(requirements: list[str], tmp_path: Path, wheelhouse: Path) -> subprocess.CompletedProcess[str]:
    platforms = ["manylinux2014_aarch64"] + [f"manylinux_2_{m}_aarch64" for m in range(17, PI_GLIBC_MINOR + 1)]
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
           "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311", "--target", str(tmp_path / "t"),
           "--report", str(tmp_path / "report.json"), "--no-input", "--find-links", str(wheelhouse),
           *(arg for p in platforms for arg in ("--platform", p)), *requirements]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


def pure_python_wheel(name: str, spec: str, wheelhouse: Path) -> Path | None:
    """Build the sdist of ``spec`` (e.g. "filterpy<2,>=1.4.5") here: its wheel is what the Pi would build, fine
    when it is pure Python."""
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-binary", name, "--quiet", "-w",
                          str(wheelhouse), spec], capture_output=True, text=True, timeout=300, check=False)
    built = sorted(wheelhouse.glob(f"{name.replace('-', '_')}-*.whl"))
    return built[0] if out.returncode == 0 and built and built[0].name.endswith("-none-any.whl") else None


def test_every_pinned_dependency_has_a_wheel_for_python_3_11_on_aarch64(tmp_path):
    """The whole tree, as `pip install` on the Pi resolves it. A dependency published only as an sdist passes
    when it builds to a pure-Python wheel (the Pi builds it without a compiler); a native one fails."""
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    for _ in range(5):
        out = resolve_for_the_pi(device_requirements(), tmp_path, wheelhouse)
        if out.returncode != 0 and NETWORK_TROUBLE.search(out.stderr):
            pytest.skip(f"the package registry cannot be reached: {NETWORK_TROUBLE.search(out.stderr).group(0)}")
        said = out.stdout + out.stderr
        missing = re.search(r"no matching distributions available for your environment:\s+([A-Za-z0-9_.-]+)", said)
        if out.returncode == 0 or missing is None:
            break
        name = missing.group(1)
        wanted = re.search(rf"depends on ({re.escape(name)}[^\n]*)", said)
        spec = wanted.group(1).replace(" and ", ",").strip() if wanted else name
        if pure_python_wheel(name, spec, wheelhouse) is None:
            break
    errors = "\n".join(line for line in (out.stdout + out.stderr).splitlines()
                       if "is ignored" not in line and not line.startswith(("Collecting", "  Downloading", "Would")))
    assert out.returncode == 0, f"a dependency cannot be installed on the Pi (no Python 3.11 aarch64 wheel):\n{errors[-3000:]}"
    report = __import__("json").loads((tmp_path / "report.json").read_text())
    wheels = [item["download_info"]["url"].rsplit("/", 1)[-1] for item in report["install"]]
    assert {"mediapipe", "numpy", "kivy"} <= {w.split("-")[0].lower() for w in wheels}
    assert all(w.endswith("-none-any.whl") or "aarch64" in w for w in wheels), wheels


# ---- the wheel, installed elsewhere ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (the checkout stays untouched: no build/ or egg-info)."""
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(ROOT / "kiosk", src / "kiosk", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(src)],
                         capture_output=True, text=True, timeout=300, check=False)
    if out.returncode != 0 and NETWORK_TROUBLE.search(out.stderr):
        pytest.skip("the build backend (setuptools) cannot be fetched: the package registry cannot be reached")
    assert out.returncode == 0, out.stderr[-3000:]
    [built] = dist.glob("kiosk-*.whl")
    return built


def test_the_wheel_carries_the_rubrics_and_the_screens(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {"kiosk/data/rubrics/default.toml", "kiosk/data/rubrics/bank_branch.toml",
            "kiosk/data/rubrics/retail_shop.toml", "kiosk/terminal/app.kv"} <= set(names)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv outside the checkout holding the wheel; returns its bin/ directory."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    "--quiet", str(wheel)], check=True, timeout=300, capture_output=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies from this environment: its site-packages directories as plain path entries (their own
    # .pth files, such as the checkout's editable install, are not processed this way).
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz-test-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    return venv / "bin"


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KIOSK_", "VIRTUAL_ENV"))}
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / "share")}


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    out = subprocess.run([str(installed / "python"), "-c", "import kiosk, kiosk.core.rubrics as r; print(kiosk.__file__); "
                          "print(r.load_store_rubric('default').name)"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path, env=clean_env(tmp_path), check=True)
    where, rubric = out.stdout.split()
    assert Path(where).is_relative_to(installed.parent) and rubric == "default"


def test_the_installed_command_answers_its_version(installed, tmp_path):
    out = subprocess.run([str(installed / "kiosk"), "--version"], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, env=clean_env(tmp_path), check=False)
    assert out.returncode == 0 and out.stdout.startswith("kiosk ")


def _xvfb(tmp_path: Path):
    from tests.terminal.conftest import _free_display

    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed: apt-get install xvfb (scripts/system-packages.txt)")
    display = _free_display()
    proc = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not Path(f"/tmp/.X11-unix/X{display}").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    return proc, display


@pytest.mark.skipif(not VTEST.is_file(), reason="install the Debian package opencv-doc (vtest.avi)")
def test_the_installed_app_runs_from_another_folder_with_a_video_as_camera(installed, tmp_path):
    etc, elsewhere = tmp_path / "etc", tmp_path / "elsewhere"
    etc.mkdir()
    elsewhere.mkdir()
    # Relative to the settings file, wherever the app is started; the rubric is the wheel's own.
    calibration = CALIBRATION.read_text()
    # Half of vtest's 10 fps is plenty to follow its walkers and lets a loaded CI machine keep up.
    (etc / "kiosk.toml").write_text('[store]\ndata_dir = "../data"\nrubric = "default"\n\n'
                                    "[terminal]\nfullscreen = false\n\n[vision]\nmax_fps = 5.0\n\n" + calibration)
    notify_path, db = tmp_path / "notify", tmp_path / "data" / "terminal.sqlite"
    xvfb, display = _xvfb(tmp_path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(notify_path))
        systemd.settimeout(0.05)
        env = {**clean_env(tmp_path), "DISPLAY": f":{display}", "KIVY_HOME": str(tmp_path / "kivy"),
               "KIVY_NO_ARGS": "1", "KIVY_NO_FILELOG": "1", "SDL_AUDIODRIVER": "dummy",
               "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "10000000"}
        app = subprocess.Popen([str(installed / "kiosk"), "--config", str(etc / "kiosk.toml"), "run", "--source",
                                str(VTEST)], cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        try:
            received: list[str] = []
            started = time.monotonic()
            # 20 s at least; on a busy CI machine longer, until the first customer's interaction is stored.
            while app.poll() is None and time.monotonic() - started < MAX_RUN_S:
                try:
                    received.append(systemd.recv(256).decode())
                except TimeoutError:
                    pass
                if time.monotonic() - started >= RUN_S and stored_interactions(db) > 0:
                    break
            still_running = app.poll() is None
            app.send_signal(signal.SIGTERM)
            try:
                stdout, stderr = app.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                app.kill()
                stdout, stderr = app.communicate()
                pytest.fail(f"SIGTERM did not stop the app within 30 s:\n{stderr[-3000:]}")
            while True:
                try:
                    received.append(systemd.recv(256).decode())
                except TimeoutError:
                    break
        finally:
            if app.poll() is None:
                app.kill()
            xvfb.terminate()
            xvfb.wait(10)
    assert still_running, f"the app stopped by itself:\n{stderr[-3000:]}"
    assert app.returncode == 0, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if re.search(r"Traceback|\bERROR\b|\[CRITICAL|cannot read", line)]
    assert errors == [], "\n".join(errors)
    assert "READY=1" in received and "WATCHDOG=1" in received and received[-1] == "STOPPING=1", received
    assert stored_interactions(db) >= 1
    assert sorted(p.name for p in elsewhere.iterdir()) == []  # nothing written where it was started


def stored_interactions(db: Path) -> int:
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0])
    except sqlite3.OperationalError:  # the app is creating it right now
        return 0
