"""The central server's settings: one validated value built at the entry point and passed to ``create_app``.

Nothing here reads the environment or creates an engine at import; ``CentralSettings()`` is cheap and pure,
so each test builds its own with its own database.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kiosk.wire.aggregate import MIN_ROW_INTERACTIONS

DEFAULT_DB_FILE = "central.sqlite"
# kiosk.settings.tree.PrivacySettings.min_group_size has the same default and bounds: one k for terminals and server.
DEFAULT_MIN_GROUP_SIZE = 5
MAX_MIN_GROUP_SIZE = 1000
DEFAULT_DISTANCE_BAND_EDGES_M = (0.75, 1.2, 3.6)  # DESIGN §4: Hall's intimate, personal and social upper edges


class AlertSettings(BaseModel):
    """When a store enters the regional alerts list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low_rating_share: float = Field(0.25, gt=0, le=1, description="Share of ratings that are 1 or 2 at or above which a store is flagged.")
    min_ratings: int = Field(10, ge=1, le=100_000, description="Fewer ratings than this never raise a low-rating alert (too few to judge).")
    p90_wait_s: float = Field(300.0, gt=0, le=86_400, description="p90 wait (seconds) at or above which a store is flagged.")
    outlier_z: float = Field(3.0, gt=0, le=20, description="Robust z-score (median/MAD) beyond which a store's measure is an outlier.")


class ThrottleSettings(BaseModel):
    """Brakes on guessing: passwords per account and per client, device tokens per client (429 + Retry-After)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_free_failures: int = Field(5, ge=1, le=1000, description="Wrong passwords for one account before each further one locks it out (backoff).")
    client_free_failures: int = Field(20, ge=1, le=100_000, description="Failed sign-ins from one client address, any account, before it is locked out.")
    token_free_failures: int = Field(10, ge=1, le=100_000, description="Unknown device tokens from one client address before it is locked out.")
    backoff_s: float = Field(2.0, gt=0, le=3600, description="First lock-out; it doubles with each further failure.")
    max_backoff_s: float = Field(900.0, gt=0, le=86_400, description="Longest lock-out; failures are forgotten after this long without one.")
    max_concurrent_hashes: int = Field(2, ge=1, le=64, description="Password checks (argon2, 64 MiB each) running at once; more sign-ins wait briefly, then get 429.")


class CentralSettings(BaseModel):
    """Everything the central server needs to start.

    Units are in the names: ``*_s`` seconds, ``*_bytes`` bytes, ``*_per_minute`` a rate.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(Path("var"), description="Holds the default SQLite database file.")
    db_url: str | None = Field(None, description="SQLAlchemy URL; postgresql://... for PostgreSQL, unset for SQLite in data_dir.")
    host: str = Field("127.0.0.1", min_length=1, description="Address `kiosk serve` binds.")
    port: int = Field(8000, ge=0, le=65_535, description="Port `kiosk serve` binds (0 picks a free one).")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024, description="Larger request bodies get 413.")
    max_batch_aggregates: int = Field(
        10_000, ge=1, le=1_000_000, description="Aggregates per POST; the terminal's sync.batch_size is at most 10,000."
    )
    ingest_per_minute: float = Field(120.0, gt=0, le=1_000_000, description="Sustained ingest requests per device per minute.")
    ingest_burst: int = Field(20, ge=1, le=100_000, description="Ingest requests a device may send at once before the rate applies.")
    session_ttl_s: int = Field(12 * 3600, ge=60, le=90 * 86_400, description="Lifetime of a login session.")
    cookie_secure: bool = Field(False, description="Mark the session cookie Secure (set when served over HTTPS).")
    allow_plain_http: bool = Field(
        False, description="Let `kiosk serve` bind a non-loopback address with cookie_secure off (session cookies in "
                           "clear text on the network): refused unless set.",
    )
    trusted_hosts: tuple[str, ...] = Field(
        ("localhost", "127.0.0.1", "::1"), min_length=1,
        description="Host header values the server answers (others get 400); add the name clients use, e.g. "
                    "kiosk.example.com or *.example.com.",
    )
    trusted_origins: tuple[str, ...] = Field(
        (), description="Origins (https://name[:port]) besides the server's own from which sign-in, sign-out and other "
                        "POSTs are accepted; a POST from any other origin is refused (403).",
    )
    body_timeout_s: float = Field(30.0, gt=0, le=3600, description="A request body not received in full within this is refused (408).")
    silent_after_s: int = Field(
        26 * 3600, ge=600, le=90 * 86_400, description="A device that has not synced for this long is shown as silent."
    )
    heartbeat_stale_after_s: int = Field(
        900, ge=60, le=7 * 86_400,
        description="A device whose last heartbeat arrived longer ago than this is shown as stale (terminals beat "
                    "every device.heartbeat_interval_s, 300 by default, so the default allows two missed beats).",
    )
    greeting_target_criterion: str = Field(
        "greeting_prompt", min_length=1, max_length=64,
        description="Rubric criterion whose met share is 'greeted within target' (rubrics/*.toml: greeting_prompt).",
    )
    distance_band_edges_m: tuple[float, float, float] = Field(
        DEFAULT_DISTANCE_BAND_EDGES_M, description="Upper edges of the intimate, personal and social bands (DESIGN §4), metres."
    )
    min_group_size: int = Field(
        DEFAULT_MIN_GROUP_SIZE, ge=MIN_ROW_INTERACTIONS, le=MAX_MIN_GROUP_SIZE,
        description="k: not set here but taken from privacy.min_group_size, the terminals' own k. Ingest refuses a row, "
                    "a measure or a criterion of fewer than k; reports show no figure from fewer than k.",
    )
    clock_skew_s: int = Field(
        900, ge=0, le=86_400,
        description="How far past the server's clock a row's period may end (terminal clocks drift); a period "
                    "ending later is not finished and is refused.",
    )
    max_age_days: int = Field(
        400, ge=1, le=3660, description="Rows whose period started longer ago than this are refused (retention)."
    )
    alerts: AlertSettings = Field(AlertSettings(), description="When a store enters the regional alerts list.")
    throttle: ThrottleSettings = Field(ThrottleSettings(), description="Brakes on guessing passwords and device tokens.")

    @field_validator("distance_band_edges_m")
    @classmethod
    def _increasing(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if not 0 < v[0] < v[1] < v[2]:
            raise ValueError(f"distance_band_edges_m must increase and be positive, got {v}")
        return v

    @field_validator("trusted_hosts")
    @classmethod
    def _host_patterns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for host in v:
            if not host or "/" in host or "*" in host[1:] or (host.startswith("*") and not host.startswith("*.")):
                raise ValueError(f"trusted_hosts entry {host!r} must be a host name or address, or *.domain")
        return v

    @field_validator("trusted_origins")
    @classmethod
    def _origins(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for origin in v:
            scheme, _, rest = origin.partition("://")
            if scheme not in ("http", "https") or not rest or "/" in rest:
                raise ValueError(f"trusted_origins entry {origin!r} must be scheme://host[:port], e.g. https://kiosk.example.com")
        return tuple(o.lower() for o in v)

    @field_validator("db_url")
    @classmethod
    def _known_scheme(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith(("sqlite", "postgres")):
            raise ValueError(f"db_url must start with sqlite or postgresql, got {v.split(':', 1)[0]!r}")
        return v

    def database_url(self) -> str:
        """The SQLAlchemy URL to use; psycopg 3 is the PostgreSQL driver."""
        if self.db_url is None:
            return f"sqlite:///{(self.data_dir / DEFAULT_DB_FILE).resolve()}"
        if self.db_url.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + self.db_url.split("://", 1)[1]
        return self.db_url
