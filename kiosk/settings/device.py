"""Settings of the device itself: camera source, disk threshold, heartbeat, the service user and the watchdog.

They live beside the measuring settings as ``Settings.device`` (``[device]`` in the TOML file,
``KIOSK_DEVICE__*`` in the environment). Units are in the names; every field has bounds and a description.

    [device]
    camera_source = "picamera"     # or "0" for /dev/video0
    heartbeat_interval_s = 300
    min_free_disk_mb = 500
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A camera index ("0") or the Pi camera. A video file is not a device's camera, so it is refused here.
CAMERA_SOURCE_PATTERN = r"^([0-9]{1,3}|picamera)$"
MIN_WATCHDOG_S = 10  # below this a busy Pi (MediaPipe loading, a slow SD card) would be killed for nothing
# A POSIX user name as Debian's adduser accepts it by default.
USER_PATTERN = r"^[a-z_][a-z0-9_-]{0,31}$"


class DeviceSettings(BaseModel):
    """How this terminal runs unattended: what ``kiosk doctor`` checks, what ``kiosk install-service`` writes,
    and how often ``kiosk heartbeat`` reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera_source: str = Field(
        default="0", pattern=CAMERA_SOURCE_PATTERN,
        description='The counter camera: an index ("0" = /dev/video0, a USB camera) or "picamera" (Camera Module via libcamera).',
    )
    min_free_disk_mb: float = Field(
        default=200.0, gt=0, le=1_000_000,
        description="Free space in store.data_dir below which `kiosk doctor` fails (SQLite needs room for its WAL and checkpoints).",
    )
    heartbeat_interval_s: int = Field(
        default=300, ge=30, le=86_400, description="Seconds between heartbeats (the kiosk-heartbeat.timer period).",
    )
    health_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="How long `kiosk doctor` waits for the central server's health endpoint.",
    )
    service_user: str = Field(
        default="kiosk", pattern=USER_PATTERN, description="The unprivileged user the systemd units run as.",
    )
    watchdog_s: int = Field(
        default=0, ge=0, le=3_600,
        description="systemd WatchdogSec for the app (0 = off). Set it only when the app sends WATCHDOG=1 via sd_notify.",
    )
    restart_delay_s: int = Field(
        default=5, ge=1, le=600, description="Pause before systemd restarts the app after it stopped.",
    )

    @model_validator(mode="after")
    def _watchdog_off_or_sane(self) -> DeviceSettings:
        if 0 < self.watchdog_s < MIN_WATCHDOG_S:
            raise ValueError(f"watchdog_s must be 0 (off) or at least {MIN_WATCHDOG_S} s, got {self.watchdog_s}")
        return self
