"""Response schemas: what the API may show. Database rows never leave the server as they are, so fields such as
``token_hash`` or ``password_hash`` cannot leak through a route (full-stack-fastapi-template's schema families).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Figures(_Out):
    """The comparable figures of a store over a period. ``None`` = no data, never zero. Units in the names."""

    interactions: int | None = None
    greeted_share: float | None = None
    greeted_within_target_share: float | None = None
    abandoned_share: float | None = None
    greeting_p50_s: float | None = None
    greeting_p90_s: float | None = None
    wait_p50_s: float | None = None
    wait_p90_s: float | None = None
    eye_contact_ratio: float | None = Field(None, description="Mean mutual-facing ratio (the camera's proxy for eye contact).")
    distance_p50_m: float | None = Field(None, description="Pooled median of the per-customer median approach distance.")
    distance_p90_m: float | None = None
    rating_mean: float | None = None
    low_rating_share: float | None = Field(None, description="Share of ratings that are 1 or 2.")
    ratings_n: int | None = None


class UserPublic(_Out):
    username: str
    role: Literal["admin", "regional", "manager"]
    store_id: str | None
    region_ids: list[str]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RegionPublic(_Out):
    id: str
    name: str


class DeviceStatus(_Out):
    id: str
    last_seen_at: dt.datetime | None = Field(description="When the server applied the device's last sync batch.")
    silent: bool = Field(description="No sync for longer than the server's silent_after_s (or never).")
    last_heartbeat_at: dt.datetime | None = Field(description="When the server received the device's last heartbeat.")
    status: Literal["never", "ok", "stale"] = Field(
        description="Heartbeat state: never sent one, ok, or stale (no heartbeat for over heartbeat_stale_after_s).")
    software_version: str | None = Field(description="The terminal software's version, from its last heartbeat.")
    outbox_pending: int | None = Field(description="Sync batches waiting on the terminal at its last heartbeat.")
    pipeline_fps: float | None = Field(description="Frames analysed per second at the last heartbeat.")
    clock_offset_s: float | None = Field(
        description="Terminal clock minus server clock at the last heartbeat (s, request travel time included).")


class StorePublic(_Out):
    id: str
    name: str
    region_id: str
    timezone: str


class BatchAck(BaseModel):
    batch_id: str
    accepted: int = Field(description="Aggregates applied by this request; 0 for a batch already applied.")
    duplicate: bool


class HeartbeatAck(BaseModel):
    device_id: str
    received_at: dt.datetime = Field(
        description="The server's clock when the beat arrived (UTC): the terminal compares it with its own sent_at.")


class HourCell(BaseModel):
    hour: int = Field(ge=0, le=23, description="Store-local hour of day.")
    interactions: int | None = Field(description="None: no hourly row (a quiet hour, merged into the day for privacy).")


class CriterionFigure(BaseModel):
    criterion: str
    n: int = Field(description="Interactions judged on this criterion (in rows that reported it).")
    met: int
    share: float | None


class DailySummary(BaseModel):
    store: StorePublic
    date: dt.date
    status: Literal["ok", "no_data"]
    figures: Figures
    previous_7_days: Figures = Field(description="Pooled over the 7 days before; interactions is the mean per day with data.")
    change: dict[str, float | None] = Field(description="figures minus previous_7_days, per figure.")
    ratings: dict[str, int] = Field(description="Count per face, '1' (unhappy) to '4' (happy).")
    distance_band: str | None = Field(description="Band (DESIGN §4) of the day's pooled median approach distance.")
    hours: list[HourCell]
    merged_interactions: int = Field(description="Interactions of quiet hours sent only as part of the day row.")
    criteria: list[CriterionFigure]
    devices: list[DeviceStatus]


class WeekPoint(BaseModel):
    week_start: dt.date
    interactions: int
    greeted_within_target_share: float | None
    wait_p90_s: float | None
    rating_mean: float | None
    low_rating_share: float | None


class CompareRow(BaseModel):
    store: StorePublic
    status: Literal["ok", "no_data"]
    rank: int | None = Field(description="1 = best on the sort figure; None when the store has no value for it.")
    figures: Figures
    criteria: dict[str, float | None]
    outliers: list[str] = Field(description="Figures on which this store lies far from the region's median.")
    silent_devices: list[str]
    stale_devices: list[str] = Field(description="Devices whose last heartbeat is older than heartbeat_stale_after_s.")
    devices: int
    weekly: list[WeekPoint]


class Alert(BaseModel):
    store_id: str
    kind: Literal["low_ratings", "p90_wait", "silent_device", "stale_device", "no_device"]
    value: float | None
    threshold: float | None
    message: str


class Comparison(BaseModel):
    region: RegionPublic
    date_from: dt.date
    date_to: dt.date
    sort: str
    order: Literal["asc", "desc"]
    figures: list[str]
    criteria: list[str]
    stores: list[CompareRow]
    alerts: list[Alert]
