"""One settings object for the whole terminal: a TOML file, then ``KIOSK_*`` environment variables on top.

Every threshold of DESIGN §4 lives here with its default, its unit in its name and its bounds, so the
logic never holds a literal. ``load_settings`` is called once at an entry point and the result passed down.

Environment variables address nested keys with ``__``: ``KIOSK_SERVICE__ENGAGE_DISTANCE_M=1.5``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kiosk.settings.central import CentralSettings
from kiosk.settings.device import DeviceSettings
from kiosk.settings.rubric_names import is_rubric_name, shipped_rubrics
from kiosk.settings.terminal import TerminalSettings
from kiosk.settings.toml_file import read_toml
from kiosk.vocabulary import ZoneName

ENV_PREFIX = "KIOSK_"


class ConfigError(ValueError):
    """A settings file or variable that cannot be used; the message names the key, the value and what is allowed."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSettings(_Section):
    """Operational definitions of the four measures (DESIGN §4)."""

    arrival_debounce_s: float = Field(1.0, ge=0, le=30, description="A customer must stay in queue/service this long to count as arrived.")
    engage_distance_m: float = Field(2.0, gt=0, le=10, description="Staff within this floor distance can engage a customer.")
    engage_angle_deg: float = Field(30.0, gt=0, le=90, description="Staff facing within this angle of the line to the customer engages them.")
    engage_hold_s: float = Field(1.0, ge=0, le=30, description="Facing must hold this long; the greeting moment is the start of that window.")
    mutual_facing_angle_deg: float = Field(20.0, gt=0, le=90, description="Each head within this angle of the other counts as mutual facing (eye-contact proxy).")
    yaw_uncertainty_allowance_deg: float = Field(15.0, ge=0, le=45, description="The facing tolerances above widen by the head yaw's standard deviation, up to this much: a three-quarter view is less certain than a profile, and a point value alone would call it a look away.")
    service_exit_grace_s: float = Field(2.0, ge=0, le=60, description="Leaving service (or the view) for longer than this ends the interaction.")
    evidence_gap_s: float = Field(0.5, ge=0, le=10, description="Frames without a view of a facing pair shorter than this neither break nor extend an engagement window.")
    relink_distance_m: float = Field(0.8, ge=0, le=5, description="A new customer track this close to where an open one vanished (within the exit grace) continues it.")


class BodySettings(_Section):
    """Body-height priors that place a person on the floor when the counter hides the legs (DESIGN §1)."""

    mean_height_m: float = Field(1.70, ge=1.0, le=2.3, description="Prior mean standing height of an adult.")
    height_sd_m: float = Field(0.09, gt=0, le=0.5, description="Prior spread of standing height.")
    min_keypoint_visibility: float = Field(0.5, ge=0, le=1, description="Keypoints below this visibility are ignored.")
    proportion_error: float = Field(0.06, ge=0, le=0.5, description="How far a real person's proportions stray from the standard body, as a share of the range: added to the placement's range uncertainty so that it stays honest when few points are seen.")
    lean_sd_m: float = Field(0.2, gt=0, le=1, description="How far a person's head and shoulders may stand off their feet (leaning, bowing), across the line of sight: the lateral spread the zone prior allows.")
    staff_zone_prior: float = Field(0.7, ge=0, le=0.99, description="Prior belief that a person whose legs are hidden and whose line of sight crosses the staff zone stands in it; their uncertain range is drawn into the zone when the evidence agrees.")
    legs_seen_staff_prior: float = Field(0.05, ge=0, le=0.99, description="The same prior for a person whose legs are seen (no counter hides them, so they are rarely behind it).")


class Zone(_Section):
    """A named polygon in image pixels (x, y), set by calibration."""

    name: ZoneName
    polygon_px: list[tuple[float, float]] = Field(min_length=3)


class FloorPoint(_Section):
    """A tape mark: where it is in the image (pixels) and on the floor (metres)."""

    image_px: tuple[float, float]
    floor_m: tuple[float, float]


class CounterSettings(_Section):
    """The counter, as the installer measures it: where it stands on the floor and how high its top is.

    For a person behind it, whatever the picture shows below its top edge is hidden by definition, however
    confident the pose model is about it (DESIGN §1)."""

    height_m: float = Field(gt=0.5, le=1.6, description="Height of the counter's top above the floor (tape measure).")
    footprint_m: list[tuple[float, float]] = Field(min_length=3, description="Corners of the counter on the floor, metres in the tape marks' frame.")


class CameraSettings(_Section):
    """Intrinsics and calibration of the counter camera."""

    width_px: int = Field(640, ge=160, le=4096, description="Width the frames are analysed at (the source resizes to it).")
    height_px: int = Field(480, ge=120, le=4096, description="Height the frames are analysed at.")
    hfov_deg: float = Field(102.0, gt=20, lt=170, description="Horizontal field of view (Camera Module 3 Wide: 102).")
    height_m: float = Field(2.0, gt=0.5, le=5, description="Camera height above the floor (DESIGN §1: 1.8-2.2).")
    floor_points: list[FloorPoint] = Field(default_factory=list, description="Four or more tape marks; empty until calibrated.")
    zones: list[Zone] = Field(default_factory=list, description="staff, service and queue polygons; empty until calibrated.")
    counter: CounterSettings | None = Field(None, description="The counter's footprint and height; without it, body points a counter hides are found by the body's proportions alone.")

    @model_validator(mode="after")
    def _enough_floor_points(self) -> "CameraSettings":
        if self.floor_points and len(self.floor_points) < 4:
            raise ValueError(f"floor_points needs 4 or more tape marks, got {len(self.floor_points)}")
        return self


class TrackingSettings(_Section):
    """Floor-plane tracking (norfair)."""

    match_distance_m: float = Field(0.5, gt=0, le=5, description="A detection this close to a track's prediction (across the view; range divided by depth_uncertainty_ratio) continues it.")
    depth_uncertainty_ratio: float = Field(3.0, ge=1, le=20, description="How much less a single camera knows a person's range than their direction.")
    memory_s: float = Field(1.0, ge=0, le=30, description="A track unseen this long is dropped.")
    init_frames: int = Field(2, ge=0, le=30, description="Detections needed before a new track is reported.")
    role_hold_s: float = Field(1.5, ge=0, le=30, description="A track keeps its role (staff or customer) until its placement has said otherwise for this long: one bad frame never turns a staff member into a customer.")
    heading_window_s: float = Field(0.35, ge=0, le=5, description="Per-track running median of headings over this window (0 = off): head-yaw noise is per frame, a turn survives a median with half the window's lag.")


class VisionSettings(_Section):
    """How frames become observations (kiosk/vision)."""

    backend: Literal["tracker", "auto", "tasks", "legacy"] = Field("tracker", description="tracker: detect people rarely, follow each with one landmark pass a frame (kiosk/vision/tracker.py), from the MediaPipe wheel's own models; about half the time and memory of the per-region design, with its greeting outcomes on the composed scenes. auto: the per-region design, a landmarker on the full frame and on every zone crop each frame (tasks when the bundle is built, else legacy).")
    max_fps: float = Field(10.0, gt=0, le=60, description="Frames analysed per second; a live camera's frames that arrive while one is analysed are dropped, never queued.")
    full_frame: bool = Field(True, description="Also search the whole frame, not only the zone crops.")
    zone_crops: bool = Field(True, description="Search each zone's image region separately (keeps close people apart, finds people too small for the whole frame).")
    redetect_s: float = Field(1.0, ge=0, le=60, description="tracker: the person detector sweeps every region at least this often; people already followed need no detector.")
    candidate_min_score: float = Field(0.3, ge=0, le=1, description="tracker: detections scoring this are tried with one landmark pass, whose presence test decides; lower than min_detection_confidence because a person turned away scores low.")
    max_people: int = Field(6, ge=1, le=16, description="tracker: people followed at once.")
    landmark_workers: int = Field(0, ge=0, le=8, description="tracker: landmark models run in parallel, one person each at a time (about 65 MB of memory each); 0 = two on a machine with two cores or more, else one. Two separate passes never wait for each other, so with a core taken by other work they still beat one (three people on two cores: 2.9 single-person passes against 3.3).")
    inference_threads: int = Field(0, ge=0, le=8, description="tracker: threads inside each model run; 0 = two where each landmark worker's two threads still leave two cores for the rest (six cores or more with two workers), else one. A two-thread run waits at every layer for its slower half: with one core taken by other work a frame took 13 times as long (one thread: 3 times).")
    max_poses_per_region: int = Field(3, ge=1, le=10, description="tasks: people the multi-person model looks for in one region.")
    min_detection_confidence: float = Field(0.5, ge=0, le=1, description="MediaPipe's person detection threshold.")
    person_height_m: float = Field(2.0, gt=1, le=3, description="How far above a zone's floor its crop reaches.")


class PrivacySettings(_Section):
    min_group_size: int = Field(5, ge=2, le=1000, description="k: aggregates of fewer interactions are merged into the day or dropped; the central server refuses and hides groups under it.")
    retention_days: int = Field(30, ge=1, le=365, description="Interactions older than this are deleted from the terminal.")


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/kiosk`` (``~/.local/share/kiosk``): the user's own, wherever a command is started.
    A device's units need it spelled out in the settings file (``kiosk install-service`` says so)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).absolute() / "kiosk"


class StoreSettings(_Section):
    data_dir: Path = Field(default_factory=default_data_dir,
                           description="Where the terminal keeps its SQLite database (relative: to the settings file).",
                           json_schema_extra={"doc_default": "$XDG_DATA_HOME/kiosk (~/.local/share/kiosk)"})
    max_db_mb: float = Field(512.0, gt=1, le=100000, description="Cap on the database size, so it can never fill the SD card.")
    store_id: str = Field("demo-store", min_length=1, max_length=64, description="The store as registered on the central server.")
    device_id: str = Field("demo-device", min_length=1, max_length=64, description="This terminal as registered (`kiosk central add-device`).")
    rubric: str = Field("default", min_length=1, description="The service rubric this store is scored against: a shipped one by name (default, retail_shop, bank_branch) or a rubric TOML file (relative: to the settings file).")

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        # Fixed once, at load: a later change of directory must not move the database.
        return v.absolute()

    @field_validator("rubric")
    @classmethod
    def _shipped_or_file(cls, v: str) -> str:
        if is_rubric_name(v) and v not in shipped_rubrics():
            raise ValueError(f"not a shipped rubric ({', '.join(shipped_rubrics())}) nor a path to a .toml file")
        return v


class SyncSettings(_Section):
    server_url: str = Field("http://127.0.0.1:8000", description="Central server base URL (https:// unless it is this machine).")
    allow_plain_http: bool = Field(False, description="Let `kiosk sync` send to an http:// server on another machine (token and aggregates unencrypted): refused unless set.")
    device_token: str = Field("", description="Bearer token printed once when the device was registered.")
    ca_bundle: Path | None = Field(None, description="CA bundle for TLS verification; certifi's bundle when unset (for the system store give /etc/ssl/certs/ca-certificates.crt).")
    timeout_s: float = Field(10.0, gt=0, le=300, description="Connect and read timeout of one request.")
    max_retries: int = Field(5, ge=0, le=50, description="Retries of one request (backoff between) before the batch waits for the next round.")
    backoff_s: float = Field(1.0, ge=0, le=600, description="Base of the exponential backoff between retries.")
    interval_s: float = Field(300.0, gt=0, le=86400, description="Background sync period.")
    batch_size: int = Field(200, ge=1, le=10000, description="Aggregates per POST.")
    close_grace_s: float = Field(3600.0, ge=0, le=86400, description="A UTC day is aggregated and queued this long after its midnight.")
    retry_after_cap_s: float = Field(60.0, ge=0, le=3600, description="Longest Retry-After the client will honour.")


class Settings(BaseSettings):
    """The terminal's settings tree. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    service: ServiceSettings = ServiceSettings()
    body: BodySettings = BodySettings()
    camera: CameraSettings = CameraSettings()
    tracking: TrackingSettings = TrackingSettings()
    vision: VisionSettings = VisionSettings()
    privacy: PrivacySettings = PrivacySettings()
    store: StoreSettings = Field(default_factory=StoreSettings)  # its data_dir default reads the environment
    sync: SyncSettings = SyncSettings()
    device: DeviceSettings = DeviceSettings()
    terminal: TerminalSettings = TerminalSettings()
    central: CentralSettings = Field(CentralSettings(), description="The central server (`kiosk serve`, `kiosk central`).")

    @model_validator(mode="before")
    @classmethod
    def _one_k(cls, data: Any) -> Any:
        """The server's k is privacy.min_group_size: one rule for the terminals and the server that checks them."""
        if not isinstance(data, dict):
            return data
        central = data.get("central")
        if isinstance(central, Mapping) and "min_group_size" in central:
            raise ValueError("central.min_group_size is not a setting: the server uses privacy.min_group_size")
        privacy = data.get("privacy")
        k = privacy.get("min_group_size") if isinstance(privacy, Mapping) else getattr(privacy, "min_group_size", None)
        if k is not None and (central is None or isinstance(central, Mapping)):
            data = {**data, "central": {**(central or {}), "min_group_size": k}}
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; the environment wins over it.
        return (env_settings, init_settings)


def _describe(err: Mapping[str, Any], file: Path | None) -> str:
    if not err.get("loc"):  # a rule across sections: its input is the whole tree, secrets included, so not shown
        return str(err.get("msg", "invalid")).removeprefix("Value error, ")
    loc = ".".join(str(p) for p in err.get("loc", ()))
    env_name = ENV_PREFIX + "__".join(str(p) for p in err.get("loc", ())).upper()
    where = f"{file} or ${env_name}" if file else f"${env_name}"
    value = err.get("input")
    msg = err.get("msg", "invalid")
    if err.get("type") == "extra_forbidden":
        return f"{loc} = {value!r} ({where}): unknown setting; check the spelling against the README's settings table"
    return f"{loc} = {value!r} ({where}): {msg}"


def _rebase_paths(data: dict[str, Any], base: Path) -> None:
    """Make the file's relative paths relative to the file itself, not to wherever the command was started."""
    for section, model in Settings.model_fields.items():
        table = data.get(section)
        kind = model.annotation
        if not isinstance(table, dict) or not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            continue
        for key, field in kind.model_fields.items():
            value = table.get(key)
            is_path = field.annotation in (Path, Path | None) or (section, key) == ("store", "rubric")
            if not is_path or not isinstance(value, str) or Path(value).is_absolute():
                continue
            if (section, key) == ("store", "rubric") and is_rubric_name(value):
                continue  # a shipped rubric's name, not a file
            table[key] = os.path.normpath(base / value)


def load_settings(path: Path | str | None = None) -> Settings:
    """Read ``path`` (TOML, optional) and the ``KIOSK_*`` environment into a validated :class:`Settings`.

    Raises:
        ConfigError: naming each bad key, its value and what is allowed.
    """
    data: dict[str, Any] = {}
    file = Path(path) if path is not None else None
    if file is not None:
        data = read_toml(file, "settings file", ConfigError)
    if file is not None:
        _rebase_paths(data, file.parent)
    try:
        return Settings(**data)
    except ValidationError as exc:
        lines = [_describe(e, file) for e in exc.errors()]
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
