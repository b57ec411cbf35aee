"""Reads and writes of the organisation: regions, stores, devices, users and login sessions.

Functions take a Session and plain values, raise ``ValueError`` naming the argument and value for a request that
cannot be honoured, and leave committing to the caller.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kiosk.central import models as m
from kiosk.central.security import hash_password, new_token, token_hash, verify_password
from kiosk.clock import utc_now
from kiosk.wire.heartbeat import HeartbeatPayload

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")  # deps.ID_PATTERN
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def _check_id(kind: str, value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"{kind} {value!r} must be 1-64 letters, digits or . _ : - (starting with a letter or digit)")
    return value


def create_region(session: Session, region_id: str, name: str | None = None) -> m.Region:
    _check_id("region id", region_id)
    if session.get(m.Region, region_id) is not None:
        raise ValueError(f"region {region_id!r} already exists")
    region = m.Region(id=region_id, name=name or region_id)
    session.add(region)
    session.flush()
    return region


def create_store(session: Session, store_id: str, region_id: str, name: str | None = None, timezone: str = "UTC") -> m.Store:
    _check_id("store id", store_id)
    if session.get(m.Region, region_id) is None:
        raise ValueError(f"region {region_id!r} does not exist; add it first")
    if session.get(m.Store, store_id) is not None:
        raise ValueError(f"store {store_id!r} already exists")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {timezone!r} is not an IANA zone name (e.g. Europe/Berlin)") from None
    store = m.Store(id=store_id, region_id=region_id, name=name or store_id, timezone=timezone, created_at=utc_now())
    session.add(store)
    session.flush()
    return store


def create_device(session: Session, device_id: str, store_id: str) -> tuple[m.Device, str]:
    """Register a device; returns it with its bearer token, which is shown once and stored only hashed."""
    _check_id("device id", device_id)
    if session.get(m.Store, store_id) is None:
        raise ValueError(f"store {store_id!r} does not exist; add it first")
    if session.get(m.Device, device_id) is not None:
        raise ValueError(f"device {device_id!r} already exists")
    token = new_token()
    device = m.Device(id=device_id, store_id=store_id, token_hash=token_hash(token), created_at=utc_now())
    session.add(device)
    session.flush()
    return device, token


def _device(session: Session, device_id: str) -> m.Device:
    device = session.get(m.Device, device_id)
    if device is None:
        raise ValueError(f"device {device_id!r} does not exist")
    return device


def rotate_device_token(session: Session, device_id: str) -> str:
    """Give the device a new token (returned, to show once) and re-activate it; the old token stops working."""
    device = _device(session, device_id)
    token = new_token()
    device.token_hash = token_hash(token)
    device.revoked_at = None
    return token


def revoke_device(session: Session, device_id: str) -> None:
    """Its token stops working at once (401); its data stays. ``rotate_device_token`` brings it back."""
    device = _device(session, device_id)
    if device.revoked_at is None:
        device.revoked_at = utc_now()


def device_by_token(session: Session, token: str) -> m.Device | None:
    """The active device holding ``token``, or None."""
    device = session.scalar(select(m.Device).where(m.Device.token_hash == token_hash(token)))
    if device is None or device.revoked_at is not None:
        return None
    return device


def record_heartbeat(session: Session, device: m.Device, beat: HeartbeatPayload, now: dt.datetime) -> None:
    """Store ``beat`` as ``device``'s latest heartbeat, received at ``now`` (the server's clock, aware).

    The server's ``now`` is what makes a device ok or stale: the terminal's ``sent_at`` is kept beside it only to
    show how far the terminal's clock is off. ``beat.device_id`` must already be checked against the token's
    device (the route answers 403 otherwise).

    Raises:
        ValueError: ``beat.version`` holds control characters (it is shown on pages; PostgreSQL refuses NUL).
    """
    if not beat.version.isprintable():
        raise ValueError(f"version {beat.version!r} must be printable text")
    device.last_heartbeat_at = now
    device.heartbeat_sent_at = _utc_or_none(beat.sent_at)
    device.software_version = beat.version
    device.outbox_pending = beat.outbox_pending
    device.last_sync_at = _utc_or_none(beat.last_sync_at)
    device.pipeline_fps = beat.pipeline_fps


def _utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` in UTC; None for the far ends of the calendar (year 1 or 9999), which have no UTC equivalent.

    A terminal's clock is reported as it is, however wrong; a value that cannot even be stored still must not
    turn the beat into an error, because the beat is what says the device is alive.
    """
    if value is None:
        return None
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        return None


def create_user(
    session: Session,
    username: str,
    password: str,
    role: m.Role | str,
    *,
    store_id: str | None = None,
    region_ids: list[str] | None = None,
) -> m.User:
    """Add a user. A manager needs exactly one store; a regional user one or more regions; an admin neither."""
    role = m.Role(role)
    if not _USERNAME.fullmatch(username):
        raise ValueError(f"username {username!r} must be 1-64 letters, digits or . _ @ -")
    if session.scalar(select(m.User).where(m.User.username == username)) is not None:
        raise ValueError(f"user {username!r} already exists")
    region_ids = list(region_ids or [])
    if role is m.Role.manager:
        if store_id is None or region_ids:
            raise ValueError("a store manager needs store_id (one store) and no regions")
        if session.get(m.Store, store_id) is None:
            raise ValueError(f"store {store_id!r} does not exist")
    elif role is m.Role.regional:
        if store_id is not None or not region_ids:
            raise ValueError("a regional user needs one or more region_ids and no store_id")
    elif store_id is not None or region_ids:
        raise ValueError("an admin sees everything: give neither store_id nor region_ids")
    regions = []
    for rid in region_ids:
        region = session.get(m.Region, rid)
        if region is None:
            raise ValueError(f"region {rid!r} does not exist")
        regions.append(region)
    user = m.User(
        username=username, password_hash=hash_password(password), role=role, store_id=store_id, created_at=utc_now()
    )
    user.regions = regions
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> m.User | None:
    if not _USERNAME.fullmatch(username):
        return None  # cannot exist; also keeps bytes PostgreSQL rejects (NUL) away from the query
    user = session.scalar(select(m.User).where(m.User.username == username))
    ok = verify_password(password, user.password_hash if user else None)
    return user if ok and user is not None and user.disabled_at is None else None


def _user(session: Session, username: str) -> m.User:
    user = session.scalar(select(m.User).where(m.User.username == username))
    if user is None:
        raise ValueError(f"user {username!r} does not exist")
    return user


def end_sessions(session: Session, username: str) -> int:
    """Sign the user out everywhere; returns how many sessions ended."""
    user = _user(session, username)
    ended = session.execute(delete(m.LoginSession).where(m.LoginSession.user_id == user.id))
    return int(ended.rowcount or 0)  # type: ignore[attr-defined]


def set_user_disabled(session: Session, username: str, disabled: bool) -> None:
    """Disable (and sign out everywhere) or re-enable a user."""
    user = _user(session, username)
    user.disabled_at = (user.disabled_at or utc_now()) if disabled else None
    if disabled:
        end_sessions(session, username)


def reset_password(session: Session, username: str, password: str) -> None:
    """Set a new password and end the user's sessions (whoever knew the old one is signed out)."""
    user = _user(session, username)
    user.password_hash = hash_password(password)
    end_sessions(session, username)


def open_session(session: Session, user: m.User, ttl_s: int) -> str:
    """Start a login session; returns the cookie value (only its hash is stored)."""
    token = new_token()
    now = utc_now()
    session.execute(delete(m.LoginSession).where(m.LoginSession.user_id == user.id, m.LoginSession.expires_at < now))
    session.add(m.LoginSession(token_hash=token_hash(token), user_id=user.id, expires_at=now + dt.timedelta(seconds=ttl_s)))
    return token


def user_by_session(session: Session, token: str) -> m.User | None:
    row = session.get(m.LoginSession, token_hash(token))
    if row is None:
        return None
    if row.expires_at < utc_now():
        return None
    user = session.get(m.User, row.user_id)
    return user if user is not None and user.disabled_at is None else None


def close_session(session: Session, token: str) -> None:
    session.execute(delete(m.LoginSession).where(m.LoginSession.token_hash == token_hash(token)))


def visible_regions(session: Session, user: m.User) -> list[m.Region]:
    """Regions the user may compare: all for an admin, their own for regional staff, none for a manager."""
    if user.role is m.Role.admin:
        return list(session.scalars(select(m.Region).order_by(m.Region.id)))
    if user.role is m.Role.regional:
        return list(user.regions)
    return []


def visible_stores(session: Session, user: m.User) -> list[m.Store]:
    if user.role is m.Role.admin:
        return list(session.scalars(select(m.Store).order_by(m.Store.id)))
    if user.role is m.Role.regional:
        ids = [r.id for r in user.regions]
        return list(session.scalars(select(m.Store).where(m.Store.region_id.in_(ids)).order_by(m.Store.id)))
    store = session.get(m.Store, user.store_id) if user.store_id else None
    return [store] if store else []


def can_read_store(user: m.User, store: m.Store) -> bool:
    """The one tenancy rule for a store (used by deps.authorized_store)."""
    if user.role is m.Role.admin:
        return True
    if user.role is m.Role.regional:
        return any(r.id == store.region_id for r in user.regions)
    return user.store_id == store.id


def can_read_region(user: m.User, region: m.Region) -> bool:
    if user.role is m.Role.admin:
        return True
    return user.role is m.Role.regional and any(r.id == region.id for r in user.regions)
