"""The heartbeat as it crosses the network: the body a terminal POSTs to ``/api/v1/heartbeat``, and the rule the
server applies to call a device never seen, ok or stale. The terminal sends it (``kiosk.device.heartbeat``), the
server validates requests with this same model (extra fields refused) and records its own receive time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ENDPOINT = "/api/v1/heartbeat"
DeviceState = Literal["never", "ok", "stale"]


class HeartbeatPayload(BaseModel):
    """The heartbeat body. The central server validates requests with this same model (extra fields refused),
    so nothing beyond these numbers can be sent or accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(min_length=1, max_length=64, description="The terminal's store.device_id.")
    sent_at: AwareDatetime = Field(description="The terminal's clock when it sent the beat (compare with the server's).")
    version: str = Field(min_length=1, max_length=32, description="The terminal software's version.")
    outbox_pending: int | None = Field(
        None, ge=0, le=10_000_000, description="Sync batches waiting to be sent; null when the database could not be read.")
    last_sync_at: AwareDatetime | None = Field(None, description="When the server last acknowledged a batch; null if never.")
    pipeline_fps: float | None = Field(
        None, ge=0, le=240, description="Frames analysed per second by the running app; null when not known to the sender.")


def device_status(last_seen: datetime | None, now: datetime, stale_after: timedelta) -> DeviceState:
    """Classify a device by the time the server last heard from it.

    Args:
        last_seen: the server's receive time of the device's last heartbeat (aware), or None if never.
        now: the server's current time (aware).
        stale_after: silence longer than this makes a device stale; exactly this long is still ok.

    Returns:
        "never" (no heartbeat yet), "ok" or "stale". A ``last_seen`` in the future (clock steps) counts as ok.

    Example:
        >>> device_status(None, now, timedelta(minutes=15))
        'never'
    """
    if stale_after <= timedelta(0):
        raise ValueError(f"stale_after must be a positive duration, got {stale_after!r}")
    for name, value in (("now", now), ("last_seen", last_seen)):
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    if last_seen is None:
        return "never"
    return "stale" if now - last_seen > stale_after else "ok"
