"""Database tables of the central server (SQLAlchemy 2, typed mappings).

Only aggregates are held here (DESIGN §6): counts and percentiles per store, device and period, never an
interaction. ``store_days`` is a rollup kept in step with ``aggregates`` on every ingest, so range reads over
thousands of stores touch one row per store and day instead of 24 (DESIGN §8).

Day rows: a terminal's ``day`` row holds only the remainder of a UTC day (its small hours merged), never the
day's total (kiosk.wire.aggregate), so a day's figures are the plain sum of all its rows.

Measure sums in the rollup are kept additive (``*_n``, ``*_p50_sum`` = sum of p50 x n ...) so that any range can
be re-aggregated with plain SQL ``SUM``: the n-weighted mean of hourly percentiles is the pooled estimate the
reports show (exact percentiles cannot be merged from percentiles).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship



class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that goes in as any aware datetime and always comes out aware, in UTC.

    SQLite has no time zones: it stores the UTC wall time and hands back naive values, which this re-labels.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the server stores aware UTC times only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: UTCDateTime()}


class Role(enum.StrEnum):
    admin = "admin"
    regional = "regional"
    manager = "manager"


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    stores: Mapped[list[Store]] = relationship(back_populates="region", order_by="Store.id")


class Store(Base):
    __tablename__ = "stores"

    # The terminal's configured store_id (kiosk.settings.tree StoreSettings.store_id).
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # IANA zone: a manager's "day" and the hour-of-day strip are local to the store.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[dt.datetime]
    region: Mapped[Region] = relationship(back_populates="stores")
    devices: Mapped[list[Device]] = relationship(back_populates="store", order_by="Device.id")


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="RESTRICT"), index=True)
    # SHA-256 of the bearer token: tokens are 256-bit random, so a fast hash is enough and lookup is by equality.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    # The server's receive time of the device's last applied sync batch (kiosk.central.ingest).
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The last heartbeat (kiosk.device.heartbeat): received on the server's clock, since a terminal's clock may be wrong;
    # the rest is what the terminal reported, its own clock included, so the two clocks can be compared.
    last_heartbeat_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    heartbeat_sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    software_version: Mapped[str | None] = mapped_column(String(32), default=None)
    outbox_pending: Mapped[int | None] = mapped_column(Integer, default=None)
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    pipeline_fps: Mapped[float | None] = mapped_column(Float, default=None)
    store: Mapped[Store] = relationship(back_populates="devices")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role", native_enum=False, length=16))
    # A manager's one store; null for other roles.
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id", ondelete="RESTRICT"), default=None)
    created_at: Mapped[dt.datetime]
    # Set by `kiosk central disable-user`: such a user can neither sign in nor use a session opened before.
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The dashboards' language chosen by the user (en, ru, fa); null: not chosen yet.
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    regions: Mapped[list[Region]] = relationship(secondary="user_regions", order_by="Region.id")


class UserRegion(Base):
    __tablename__ = "user_regions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True)


class LoginSession(Base):
    __tablename__ = "login_sessions"

    # SHA-256 of the cookie value; the cookie itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime]


class Batch(Base):
    """One applied sync batch: its id makes a retried POST a no-op."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    received_at: Mapped[dt.datetime]
    aggregates: Mapped[int] = mapped_column(Integer)


class Aggregate(Base):
    """One aggregate as the terminal sent it (the latest version of its device, period and start).

    The natural key (device_id, period, period_start) is the primary key: kiosk.wire.aggregate guarantees it is
    unique across a device's batches, and it holds the partition column. On PostgreSQL the table is
    partitioned by month of ``period_start`` (DESIGN §8; partitions made by kiosk.central.partitions).
    """

    __tablename__ = "aggregates"
    __table_args__ = (
        Index("ix_aggregates_store_day", "store_id", "day"),
        {"postgresql_partition_by": "RANGE (period_start)"},
    )

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(4), primary_key=True)
    period_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    # The store-local calendar day this row counts towards (see kiosk.central.ingest.local_day).
    day: Mapped[dt.date] = mapped_column(Date)
    interactions: Mapped[int] = mapped_column(Integer)
    greeted: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    rating_1: Mapped[int] = mapped_column(Integer, default=0)
    rating_2: Mapped[int] = mapped_column(Integer, default=0)
    rating_3: Mapped[int] = mapped_column(Integer, default=0)
    rating_4: Mapped[int] = mapped_column(Integer, default=0)
    # {"greeting_s": {"n":.., "p50":.., "p90":.., "mean":..}, ...} and {"greeting_prompt": {"n":.., "met":..}, ...}
    # as the terminal sent them (kiosk.wire.aggregate.Aggregate); read back only for one store and day at a time.
    measures: Mapped[dict[str, Any]]
    within_target: Mapped[dict[str, Any]]
    # Follow-up answers per reason code (kiosk.wire.aggregate REASON_CODES); null from terminals that send none.
    reasons: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    batch_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[dt.datetime]


class _Sums:
    """The additive columns of a rollup (kiosk.central.totals.totals_to_columns names them)."""

    interactions: Mapped[int] = mapped_column(Integer)
    greeted: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    rating_1: Mapped[int] = mapped_column(Integer)
    rating_2: Mapped[int] = mapped_column(Integer)
    rating_3: Mapped[int] = mapped_column(Integer)
    rating_4: Mapped[int] = mapped_column(Integer)
    greeting_s_n: Mapped[int] = mapped_column(Integer)
    greeting_s_p50_sum: Mapped[float] = mapped_column(Float)
    greeting_s_p90_sum: Mapped[float] = mapped_column(Float)
    greeting_s_mean_sum: Mapped[float] = mapped_column(Float)
    wait_s_n: Mapped[int] = mapped_column(Integer)
    wait_s_p50_sum: Mapped[float] = mapped_column(Float)
    wait_s_p90_sum: Mapped[float] = mapped_column(Float)
    wait_s_mean_sum: Mapped[float] = mapped_column(Float)
    eye_contact_ratio_n: Mapped[int] = mapped_column(Integer)
    eye_contact_ratio_p50_sum: Mapped[float] = mapped_column(Float)
    eye_contact_ratio_p90_sum: Mapped[float] = mapped_column(Float)
    eye_contact_ratio_mean_sum: Mapped[float] = mapped_column(Float)
    distance_m_median_n: Mapped[int] = mapped_column(Integer)
    distance_m_median_p50_sum: Mapped[float] = mapped_column(Float)
    distance_m_median_p90_sum: Mapped[float] = mapped_column(Float)
    distance_m_median_mean_sum: Mapped[float] = mapped_column(Float)


class StoreDay(_Sums, Base):
    """Additive rollup of a store's aggregates for one local day (recomputed for each day a batch touches)."""

    __tablename__ = "store_days"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    # Monday of the day's ISO week, so weekly trends group portably on SQLite and PostgreSQL.
    week_start: Mapped[dt.date] = mapped_column(Date)

    __table_args__ = (Index("ix_store_days_day", "day", "store_id"),)


class StoreWeek(_Sums, Base):
    """The store's ``store_days`` of one ISO week summed (recomputed with them at ingest), so a year's report reads
    52 rows per store instead of 365."""

    __tablename__ = "store_weeks"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    days: Mapped[int] = mapped_column(Integer)  # store-days with data in the week


class StoreWeekCriterion(Base):
    """``store_day_criteria`` of one ISO week summed."""

    __tablename__ = "store_week_criteria"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    criterion: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    met: Mapped[int] = mapped_column(Integer)


class StoreDayCriterion(Base):
    """Rubric verdicts per criterion for one store and day (summable in SQL).

    ``n`` and ``met`` add up only the rows whose ``met`` was sent (rows under k send n with a null met).
    """

    __tablename__ = "store_day_criteria"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    criterion: Mapped[str] = mapped_column(String(64), primary_key=True)
    week_start: Mapped[dt.date] = mapped_column(Date)
    n: Mapped[int] = mapped_column(Integer)
    met: Mapped[int] = mapped_column(Integer)


class ManagerCall(Base):
    """A customer asked for a manager at a terminal (kiosk.device.manager_call): where and when, nothing about who."""

    __tablename__ = "manager_calls"
    __table_args__ = (Index("ix_manager_calls_store_received", "store_id", "received_at"),)

    # The terminal's random call_id: a retried POST of the same call is stored once.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    called_at: Mapped[dt.datetime]    # the terminal's clock at the tap
    received_at: Mapped[dt.datetime]  # the server's clock: what pages sort and age by
