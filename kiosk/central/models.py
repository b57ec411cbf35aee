"""Database tables of the central server (SQLAlchemy 2, typed mappings).

Only aggregates are held here (DESIGN §6): counts and percentiles per store, device and period, never an
interaction. ``store_days`` is a rollup kept in step with ``aggregates`` on every ingest, so range reads over
thousands of stores touch one row per store and day instead of 24 (DESIGN §8).

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
    BigInteger,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The four measures every aggregate carries (DESIGN §4/§5), in report order.
MEASURES: tuple[str, ...] = ("greeting_s", "wait_s", "eye_contact_ratio", "distance_m")
# Distance bands of DESIGN §4, in order of increasing distance.
BANDS: tuple[str, ...] = ("intimate", "personal", "social", "public")

# BigInteger ids that SQLite still treats as ROWID aliases (autoincrement).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: DateTime(timezone=True)}


class Role(str, enum.Enum):
    admin = "admin"
    regional = "regional"
    manager = "manager"


class Region(Base):
    __tablename__ = "regions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    stores: Mapped[list["Store"]] = relationship(back_populates="region", order_by="Store.id")


class Store(Base):
    __tablename__ = "stores"

    # The terminal's configured store_id (kiosk.config StoreSettings.store_id).
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # IANA zone: a manager's "day" and the hour-of-day strip are local to the store.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[dt.datetime]
    region: Mapped[Region] = relationship(back_populates="stores")
    devices: Mapped[list["Device"]] = relationship(back_populates="store", order_by="Device.id")


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="RESTRICT"), index=True)
    # SHA-256 of the bearer token: tokens are 256-bit random, so a fast hash is enough and lookup is by equality.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
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
    """One aggregate as the terminal sent it (the latest version of its device, period and start)."""

    __tablename__ = "aggregates"
    __table_args__ = (
        UniqueConstraint("device_id", "period", "period_start", name="uq_aggregates_device_period"),
        Index("ix_aggregates_store_start", "store_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(4))
    period_start: Mapped[dt.datetime]
    # The store-local calendar day this row counts towards (see kiosk.central.ingest.local_day).
    day: Mapped[dt.date] = mapped_column(Date)
    interactions: Mapped[int] = mapped_column(Integer)
    greeted: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    rating_1: Mapped[int] = mapped_column(Integer, default=0)
    rating_2: Mapped[int] = mapped_column(Integer, default=0)
    rating_3: Mapped[int] = mapped_column(Integer, default=0)
    rating_4: Mapped[int] = mapped_column(Integer, default=0)
    # {"greeting_s": {"p50":..,"p90":..,"mean":..,"n":..}, ...}; {"intimate": 3, ...}; {"G4": 12, ...}
    measures: Mapped[dict[str, Any]]
    bands: Mapped[dict[str, Any]]
    within_target: Mapped[dict[str, Any]]
    batch_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[dt.datetime]


class StoreDay(Base):
    """Additive rollup of a store's aggregates for one local day (recomputed for each day a batch touches)."""

    __tablename__ = "store_days"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    # Monday of the day's ISO week, so weekly trends group portably on SQLite and PostgreSQL.
    week_start: Mapped[dt.date] = mapped_column(Date)
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
    distance_m_n: Mapped[int] = mapped_column(Integer)
    distance_m_p50_sum: Mapped[float] = mapped_column(Float)
    distance_m_p90_sum: Mapped[float] = mapped_column(Float)
    distance_m_mean_sum: Mapped[float] = mapped_column(Float)
    band_intimate: Mapped[int] = mapped_column(Integer)
    band_personal: Mapped[int] = mapped_column(Integer)
    band_social: Mapped[int] = mapped_column(Integer)
    band_public: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_store_days_day", "day", "store_id"),)


class StoreDayCriterion(Base):
    """Within-target counts per rubric criterion for one store and day (summable in SQL)."""

    __tablename__ = "store_day_criteria"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    criterion: Mapped[str] = mapped_column(String(64), primary_key=True)
    within_target: Mapped[int] = mapped_column(Integer)
