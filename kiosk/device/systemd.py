"""The systemd units that keep a terminal running for months untouched, generated as text.

``render_units`` returns the terminal's units by file name:

- ``kiosk-terminal.service``: the app, full screen on the autologin desktop, restarted whenever it stops,
  sandboxed (read-only system, writable data directory only, private /tmp, no new privileges);
- ``kiosk-sync.service`` + ``.timer``: ``kiosk sync`` every ``sync.interval_s``;
- ``kiosk-heartbeat.service`` + ``.timer``: ``kiosk heartbeat`` every ``device.heartbeat_interval_s``.

``render_central_unit`` gives ``kiosk-central.service`` for the central server's machine. ``install_services``
writes the files; enabling them stays a visible step for the installer (``systemctl enable --now ...``).
firmware_notes/04-kiosk-mode.md explains each choice for the technician.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kiosk import __version__
from kiosk.settings.tree import Settings
from kiosk.settings.device import USER_PATTERN, DeviceSettings

SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
APP_COMMAND = "run"  # `kiosk run`: the terminal app (camera, pipeline, rating screen)
TERMINAL_UNIT, SYNC_UNIT, HEARTBEAT_UNIT = "kiosk-terminal.service", "kiosk-sync.service", "kiosk-heartbeat.service"
CENTRAL_UNIT = "kiosk-central.service"
# Characters a unit file would split on or expand (%-specifiers): refused in paths rather than escaped, since a
# path that needs escaping in one directive (ExecStart) needs different escaping in another (ReadWritePaths).
_UNSAFE = re.compile(r"[\s%\"'\\;$`]")
# Hardening shared by every unit. Not PrivateDevices: the app needs /dev/video*, /dev/dri and the touch input.
_SANDBOX = """\
ProtectSystem=strict
ReadWritePaths={data_dir}
PrivateTmp=yes
NoNewPrivileges=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
"""


@dataclass(frozen=True)
class ServiceLayout:
    """Where things are on the device and how often the timers fire, as the units name them.

    Args:
        venv: the virtual environment holding the ``kiosk`` command (absolute).
        config: the settings TOML every command is given (absolute).
        data_dir: ``store.data_dir`` (absolute): the only place the units may write.
        user: the unprivileged user the units run as.
        sync_interval_s, heartbeat_interval_s: timer periods, seconds.
        watchdog_s: systemd WatchdogSec for the app, 0 = off.
        restart_delay_s: pause before the app is restarted, seconds.
    """

    venv: Path
    config: Path
    data_dir: Path
    user: str
    sync_interval_s: int = 300
    heartbeat_interval_s: int = 300
    watchdog_s: int = 0
    restart_delay_s: int = 5

    def __post_init__(self) -> None:
        for name in ("venv", "config", "data_dir"):
            object.__setattr__(self, name, _plain_path(name, getattr(self, name)))
        _plain_user(self.user)
        for name in ("sync_interval_s", "heartbeat_interval_s", "restart_delay_s"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 second, got {getattr(self, name)}")
        if self.watchdog_s < 0:
            raise ValueError(f"watchdog_s must be 0 (off) or positive, got {self.watchdog_s}")

    @classmethod
    def from_settings(
        cls, settings: Settings, device: DeviceSettings, *, venv: Path, config: Path, user: str | None = None
    ) -> ServiceLayout:
        """The layout for ``settings`` (data dir, sync period) and ``device`` (user, heartbeat, watchdog)."""
        data_dir = Path(settings.store.data_dir)
        if not data_dir.is_absolute():
            raise ValueError(
                f"store.data_dir = {str(data_dir)!r} is relative; a service needs an absolute data directory, e.g. "
                '[store] data_dir = "/srv/kiosk/data" (the data partition, firmware_notes/05-storage.md)')
        return cls(
            venv=Path(venv), config=Path(config), data_dir=data_dir, user=user or device.service_user,
            sync_interval_s=max(1, round(settings.sync.interval_s)), heartbeat_interval_s=device.heartbeat_interval_s,
            watchdog_s=device.watchdog_s, restart_delay_s=device.restart_delay_s,
        )

    @property
    def kiosk(self) -> str:
        """The command line prefix every unit runs: ``<venv>/bin/kiosk --config <file>``."""
        return f"{self.venv}/bin/kiosk --config {self.config}"


def _plain_path(name: str, value: Path | str) -> Path:
    path = Path(value)
    if not path.is_absolute():
        raise ValueError(f"{name} must be an absolute path for a systemd unit, got {str(path)!r}")
    if _UNSAFE.search(str(path)):
        raise ValueError(f"{name} = {str(path)!r} holds a space or one of % \" ' \\ ; $ `, which unit files split or "
                         "expand; use a plain path")
    return path


def _plain_user(user: str) -> str:
    if not re.fullmatch(USER_PATTERN, user):
        raise ValueError(f"user = {user!r} is not a plain POSIX user name (lower case, digits, - and _)")
    return user


def _header(what: str) -> str:
    return (f"# {what}\n# Written by `kiosk install-service` (kiosk {__version__}). Re-run it rather than editing this "
            "file;\n# local changes belong in a drop-in: `systemctl edit <unit>`.\n")


def terminal_unit(layout: ServiceLayout) -> str:
    """``kiosk-terminal.service``: the app on the desktop session the kiosk user is logged in to automatically."""
    if layout.watchdog_s:
        # The app says READY=1 once its window is up, then WATCHDOG=1 while its UI and frame loop both move
        # (kiosk/device/watchdog.py); a frozen app is then killed and restarted like a crashed one.
        kind = f"Type=notify\nNotifyAccess=main\nWatchdogSec={layout.watchdog_s}s\n"
    else:
        kind = "Type=simple\n"
    return (
        _header("The service-quality terminal app: camera, measures, rating screen.")
        + "[Unit]\n"
        "Description=Service-quality terminal (camera, measures, rating screen)\n"
        # The display exists once the desktop has logged the kiosk user in; until then a start fails and is retried.
        "After=graphical.target systemd-user-sessions.service\n"
        f"RequiresMountsFor={layout.data_dir}\n"
        # Never give up restarting: nobody is there to run `systemctl reset-failed`.
        "StartLimitIntervalSec=0\n"
        "\n[Service]\n"
        + kind
        + f"User={layout.user}\n"
        f"ExecStart={layout.kiosk} {APP_COMMAND}\n"
        "Restart=always\n"
        f"RestartSec={layout.restart_delay_s}s\n"
        # MediaPipe and the camera take a while on a Pi 4 with a cold SD card.
        "TimeoutStartSec=180s\n"
        "Environment=DISPLAY=:0\n"
        f"Environment=XAUTHORITY=/home/{layout.user}/.Xauthority\n"
        # Kivy writes its config under KIVY_HOME; the home directory is read-only here, the data directory is not.
        f"Environment=KIVY_HOME={layout.data_dir}/kivy\n"
        "Environment=KIVY_NO_FILELOG=1\n"
        "Environment=KCFG_GRAPHICS_FULLSCREEN=auto\n"
        "Environment=KCFG_KIVY_EXIT_ON_ESCAPE=0\n"
        "Environment=PYTHONUNBUFFERED=1\n"
        + _SANDBOX.format(data_dir=layout.data_dir)
        # PrivateTmp hides the X server's socket directory; bring just that one back.
        + "BindPaths=-/tmp/.X11-unix\n"
        "\n[Install]\n"
        "WantedBy=graphical.target\n"
    )


def _oneshot(layout: ServiceLayout, description: str, command: str, timeout_s: int) -> str:
    return (
        _header(description)
        + "[Unit]\n"
        f"Description={description}\n"
        "Wants=network-online.target\n"
        "After=network-online.target time-sync.target\n"
        f"RequiresMountsFor={layout.data_dir}\n"
        "\n[Service]\n"
        "Type=oneshot\n"
        f"User={layout.user}\n"
        f"ExecStart={layout.kiosk} {command}\n"
        f"TimeoutStartSec={timeout_s}s\n"
        # Below the app: a sync or heartbeat must never cost the camera pipeline frames.
        "Nice=10\n"
        "IOSchedulingClass=idle\n"
        + _SANDBOX.format(data_dir=layout.data_dir)
    )


def _timer(description: str, unit: str, first_s: int, every_s: int) -> str:
    # Spread over the fleet: thousands of terminals powered on together must not all call the server at once.
    spread_s = max(1, min(every_s // 10, 300))
    return (
        _header(description)
        + "[Unit]\n"
        f"Description={description}\n"
        "\n[Timer]\n"
        f"Unit={unit}\n"
        # Relative to the timer's own start, so a restarted timer (not only a boot) re-enters the cycle.
        f"OnActiveSec={first_s}s\n"
        f"OnUnitActiveSec={every_s}s\n"
        f"RandomizedDelaySec={spread_s}s\n"
        "\n[Install]\n"
        "WantedBy=timers.target\n"
    )


def render_units(layout: ServiceLayout) -> dict[str, str]:
    """The terminal's unit files by name (``kiosk-terminal.service``, the sync and heartbeat services and timers)."""
    # A sync round may retry with backoff for minutes; the timer period bounds it so rounds cannot pile up.
    sync_timeout = max(60, min(layout.sync_interval_s, 1800))
    return {
        TERMINAL_UNIT: terminal_unit(layout),
        SYNC_UNIT: _oneshot(layout, "Send the terminal's closed days to the central server", "sync", sync_timeout),
        "kiosk-sync.timer": _timer("Send closed days to the central server periodically", SYNC_UNIT,
                                   120, layout.sync_interval_s),
        HEARTBEAT_UNIT: _oneshot(layout, "Tell the central server this terminal is alive", "heartbeat", 60),
        "kiosk-heartbeat.timer": _timer("Send the terminal's heartbeat periodically", HEARTBEAT_UNIT,
                                        60, layout.heartbeat_interval_s),
    }


def render_central_unit(venv: Path, data_dir: Path, user: str, host: str = "127.0.0.1", port: int = 8000) -> str:
    """``kiosk-central.service`` for the central server (``kiosk serve``), behind a TLS reverse proxy."""
    venv, data_dir, user = _plain_path("venv", venv), _plain_path("data_dir", data_dir), _plain_user(user)
    if not 0 < port < 65_536:
        raise ValueError(f"port must be 1..65535, got {port}")
    if _UNSAFE.search(host) or not host:
        raise ValueError(f"host = {host!r} is not a plain address")
    return (
        _header("The central server: ingest, daily summaries, branch comparison.")
        + "[Unit]\n"
        "Description=Service-quality central server\n"
        "Wants=network-online.target\n"
        "After=network-online.target postgresql.service\n"
        f"RequiresMountsFor={data_dir}\n"
        "StartLimitIntervalSec=0\n"
        "\n[Service]\n"
        "Type=simple\n"
        f"User={user}\n"
        f"ExecStart={venv}/bin/kiosk serve --data-dir {data_dir} --host {host} --port {port}\n"
        "Restart=always\n"
        "RestartSec=5s\n"
        + _SANDBOX.format(data_dir=data_dir)
        + "\n[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def install_services(
    dest_dir: Path | None,
    settings: Settings,
    venv: Path,
    user: str | None = None,
    *,
    config: Path,
    device: DeviceSettings | None = None,
    central: bool = False,
) -> list[Path]:
    """Write the terminal's units (and ``kiosk-central.service`` when ``central``) into ``dest_dir``.

    Args:
        dest_dir: where to write; None means /etc/systemd/system, which needs root.
        settings: the terminal's settings (data directory, sync period).
        venv: the virtual environment holding ``kiosk`` (absolute).
        user: the user the units run as; default ``device.service_user``.
        config: the settings file the units pass to every command (absolute).
        device: the device settings; default ``DeviceSettings()``.
        central: also write the central server's unit (data in ``settings.store.data_dir``).

    Returns:
        The files written, in a stable order. Each replaces its predecessor atomically.

    Raises:
        ValueError: a relative or unsafe path, a bad user name.
        PermissionError: no destination given and not running as root.
        OSError: the directory cannot be written.
    """
    device = device or DeviceSettings()
    if dest_dir is None:
        if os.geteuid() != 0:
            raise PermissionError(f"writing to {SYSTEM_UNIT_DIR} needs root: run with sudo, or give a destination directory")
        dest_dir = SYSTEM_UNIT_DIR
    layout = ServiceLayout.from_settings(settings, device, venv=Path(venv), config=Path(config), user=user)
    units = render_units(layout)
    if central:
        units[CENTRAL_UNIT] = render_central_unit(layout.venv, layout.data_dir, layout.user)
    return write_units(Path(dest_dir), units)


def write_units(dest_dir: Path, units: Mapping[str, str]) -> list[Path]:
    """Write each unit file atomically (a half-written unit must never be loaded by a daemon-reload)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(units.items()):
        target = dest_dir / name
        with tempfile.NamedTemporaryFile("w", dir=dest_dir, prefix=f".{name}.", delete=False, encoding="utf-8") as tmp:
            tmp.write(text)
        os.chmod(tmp.name, 0o644)  # systemd reads units as root, but `systemctl cat` users should too
        os.replace(tmp.name, target)
        written.append(target)
    return written
