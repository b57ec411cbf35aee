"""The systemd units: accepted by ``systemd-analyze verify`` (with the real venv of this test run as ExecStart),
carrying the restart and sandbox settings the device relies on, and written where asked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.settings.tree import Settings, StoreSettings, SyncSettings
from kiosk.cli import main as device_main
from kiosk.settings.device import DeviceSettings
from kiosk.device.systemd import (
    ServiceLayout,
    install_services,
    render_central_unit,
    render_units,
    write_units,
)

VENV = Path(sys.prefix)  # holds bin/kiosk: systemd-analyze verify checks that ExecStart's binary exists
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None or not (VENV / "bin" / "kiosk").exists(),
    reason="systemd-analyze is not installed (Debian package `systemd`; list it in scripts/system-packages.txt) "
           "or this venv has no bin/kiosk",
)


def layout(tmp_path: Path, **changes: object) -> ServiceLayout:
    values: dict[str, object] = {"venv": VENV, "config": tmp_path / "kiosk.toml", "data_dir": tmp_path / "data",
                                 "user": "kiosk"}
    values.update(changes)
    return ServiceLayout(**values)  # type: ignore[arg-type]


def settings(data_dir: Path, interval_s: float = 300.0) -> Settings:
    return Settings(store=StoreSettings(data_dir=data_dir), sync=SyncSettings(interval_s=interval_s))


def directives(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> values (keys such as Environment= repeat)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            out.setdefault(section, {})
            continue
        key, _, value = line.partition("=")
        out[section].setdefault(key, []).append(value)
    return out


def verify(unit_dir: Path) -> subprocess.CompletedProcess[str]:
    files = sorted(str(p) for p in unit_dir.iterdir())
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run([SYSTEMD_ANALYZE, "verify", *files], capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "SYSTEMD_LOG_COLOR": "0"})


def complaints(result: subprocess.CompletedProcess[str], unit_dir: Path) -> list[str]:
    """Lines of verify's output about these units (it may also grumble about the host's own units)."""
    return [line for line in (result.stdout + result.stderr).splitlines() if str(unit_dir) in line or "kiosk-" in line]


# ---- systemd accepts them ----------------------------------------------------------------------------------------

@needs_systemd_analyze
@pytest.mark.parametrize("case, watchdog_s", [("plain app", 0), ("app with watchdog", 30)])
def test_generated_units_pass_systemd_analyze_verify(tmp_path: Path, case: str, watchdog_s: int) -> None:
    units = render_units(layout(tmp_path, watchdog_s=watchdog_s))
    units["kiosk-central.service"] = render_central_unit(VENV, tmp_path / "central", "kiosk")
    write_units(tmp_path / "units", units)
    result = verify(tmp_path / "units")
    assert result.returncode == 0 and complaints(result, tmp_path / "units") == [], result.stdout + result.stderr


@needs_systemd_analyze
def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    # The harness's control: a misspelt key and a missing binary must not pass unnoticed.
    text = render_units(layout(tmp_path))["kiosk-terminal.service"]
    broken = text.replace("Restart=always", "Restrat=always").replace(str(VENV), "/nonexistent/venv")
    write_units(tmp_path / "units", {"kiosk-terminal.service": broken})
    result = verify(tmp_path / "units")
    said = "\n".join(complaints(result, tmp_path / "units"))
    assert result.returncode != 0 and "Restrat" in said


# ---- what the units say -------------------------------------------------------------------------------------------

def test_the_app_restarts_forever_as_the_kiosk_user_after_the_desktop(tmp_path: Path) -> None:
    unit = directives(render_units(layout(tmp_path))["kiosk-terminal.service"])
    assert unit["Service"]["Restart"] == ["always"] and unit["Service"]["User"] == ["kiosk"]
    assert unit["Unit"]["StartLimitIntervalSec"] == ["0"]
    assert "graphical.target" in unit["Unit"]["After"][0] and unit["Install"]["WantedBy"] == ["graphical.target"]


@pytest.mark.parametrize("name", ["kiosk-terminal.service", "kiosk-sync.service", "kiosk-heartbeat.service"])
def test_every_service_may_write_only_its_data_dir(tmp_path: Path, name: str) -> None:
    service = directives(render_units(layout(tmp_path))[name])["Service"]
    assert service["ProtectSystem"] == ["strict"] and service["ReadWritePaths"] == [str(tmp_path / "data")]
    assert service["PrivateTmp"] == ["yes"] and service["NoNewPrivileges"] == ["yes"]


def test_every_service_runs_kiosk_from_the_venv_with_the_settings_file(tmp_path: Path) -> None:
    units = render_units(layout(tmp_path))
    commands = {n: directives(t)["Service"]["ExecStart"][0] for n, t in units.items() if n.endswith(".service")}
    prefix = f"{VENV}/bin/kiosk --config {tmp_path / 'kiosk.toml'} "
    assert commands == {"kiosk-terminal.service": prefix + "run", "kiosk-sync.service": prefix + "sync",
                        "kiosk-heartbeat.service": prefix + "heartbeat"}


def test_without_a_watchdog_the_app_is_a_simple_service(tmp_path: Path) -> None:
    service = directives(render_units(layout(tmp_path, watchdog_s=0))["kiosk-terminal.service"])["Service"]
    assert service["Type"] == ["simple"] and "WatchdogSec" not in service


def test_with_a_watchdog_the_app_must_notify(tmp_path: Path) -> None:
    service = directives(render_units(layout(tmp_path, watchdog_s=30))["kiosk-terminal.service"])["Service"]
    assert (service["Type"], service["WatchdogSec"], service["NotifyAccess"]) == (["notify"], ["30s"], ["main"])


def test_timers_fire_at_the_configured_periods(tmp_path: Path) -> None:
    units = render_units(layout(tmp_path, sync_interval_s=900, heartbeat_interval_s=120))
    assert directives(units["kiosk-sync.timer"])["Timer"]["OnUnitActiveSec"] == ["900s"]
    assert directives(units["kiosk-heartbeat.timer"])["Timer"]["OnUnitActiveSec"] == ["120s"]


@pytest.mark.parametrize("case, changes, message", [
    ("relative venv", {"venv": Path("venv")}, "venv must be an absolute path"),
    ("space in data dir", {"data_dir": Path("/srv/my data")}, "data_dir = '/srv/my data' holds a space"),
    ("percent in config", {"config": Path("/etc/kiosk/100%.toml")}, "config = '/etc/kiosk/100%.toml'"),
    ("user with capitals", {"user": "Kiosk"}, "user = 'Kiosk'"),
])
def test_layouts_a_unit_file_cannot_express_are_refused(tmp_path: Path, case: str, changes: dict[str, object],
                                                        message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        layout(tmp_path, **changes)


def test_a_settings_file_without_a_data_dir_is_refused_with_an_example(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[sync]\nserver_url = "https://central.example"\n')
    code = device_main(["--config", str(config), "install-service", "--dest", str(tmp_path / "units")])
    assert code == 3
    assert 'does not set store.data_dir' in capsys.readouterr().err and not (tmp_path / "units").exists()


# ---- writing them -----------------------------------------------------------------------------------------------

def test_install_writes_the_five_terminal_units_readable_by_all(tmp_path: Path) -> None:
    written = install_services(tmp_path / "units", settings(tmp_path / "data"), VENV, config=tmp_path / "kiosk.toml")
    assert [p.name for p in written] == ["kiosk-heartbeat.service", "kiosk-heartbeat.timer", "kiosk-sync.service",
                                         "kiosk-sync.timer", "kiosk-terminal.service"]
    assert {oct(p.stat().st_mode & 0o777) for p in written} == {"0o644"}


def test_install_takes_user_and_periods_from_the_settings(tmp_path: Path) -> None:
    device = DeviceSettings(service_user="counter", heartbeat_interval_s=60)
    install_services(tmp_path, settings(tmp_path / "data", interval_s=600), VENV, config=tmp_path / "k.toml", device=device)
    assert directives((tmp_path / "kiosk-sync.service").read_text())["Service"]["User"] == ["counter"]
    assert directives((tmp_path / "kiosk-heartbeat.timer").read_text())["Timer"]["OnUnitActiveSec"] == ["60s"]
    assert directives((tmp_path / "kiosk-sync.timer").read_text())["Timer"]["OnUnitActiveSec"] == ["600s"]


def test_installing_twice_gives_the_same_files_and_no_leftovers(tmp_path: Path) -> None:
    args = (tmp_path / "units", settings(tmp_path / "data"), VENV)
    first = {p.name: p.read_bytes() for p in install_services(*args, config=tmp_path / "k.toml")}
    second = {p.name: p.read_bytes() for p in install_services(*args, config=tmp_path / "k.toml")}
    assert first == second and sorted(p.name for p in (tmp_path / "units").iterdir()) == sorted(first)


def test_installing_into_the_system_directory_needs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(PermissionError, match="needs root"):
        install_services(None, settings(tmp_path / "data"), VENV, config=tmp_path / "k.toml")


def test_the_command_writes_the_units_to_dest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n')
    code = device_main(["--config", str(config), "install-service", "--dest", str(tmp_path / "units"),
                        "--user", "shop", "--venv", str(VENV), "--central"])
    out = capsys.readouterr().out
    assert code == 0 and sum(line.startswith("wrote ") for line in out.splitlines()) == 6
    assert directives((tmp_path / "units" / "kiosk-terminal.service").read_text())["Service"]["User"] == ["shop"]


def test_the_command_says_the_next_step_enabling_every_unit_it_wrote(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n')
    device_main(["install-service", "--config", str(config), "--dest", str(tmp_path / "units"), "--central"])
    out = capsys.readouterr().out
    assert (f"next: copy them to /etc/systemd/system (or into the image), then systemctl daemon-reload && "
            "systemctl enable --now kiosk-terminal.service kiosk-heartbeat.timer kiosk-sync.timer "
            "kiosk-central.service") in out


def test_the_command_into_the_system_directory_names_enable_then_doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import kiosk.device.systemd

    monkeypatch.setattr(kiosk.device.systemd, "SYSTEM_UNIT_DIR", tmp_path / "system")
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n')
    device_main(["install-service", "--config", str(config), "--dest", str(tmp_path / "system")])
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == ["next: systemctl daemon-reload && systemctl enable --now kiosk-terminal.service "
                        "kiosk-heartbeat.timer kiosk-sync.timer", f"then: kiosk --config {config} doctor"]


def test_the_command_without_a_settings_file_says_what_to_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = device_main(["install-service", "--dest", str(tmp_path)])
    assert code == 3 and "--config FILE" in capsys.readouterr().err
