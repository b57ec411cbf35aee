"""Typed FastAPI dependencies: the database session, the signed-in user, the device behind a token, and the
tenancy checks. Every store or region read goes through ``authorized_store`` / ``authorized_region``, so the
rule "a manager sees their store, regional staff their regions" lives in one place (crud.can_read_*)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from kiosk.central import crud
from kiosk.central import models as m
from kiosk.settings.central import CentralSettings

SESSION_COOKIE = "kiosk_session"
_bearer = HTTPBearer(auto_error=False, description="The device token printed by `kiosk central add-device`.")


class LoginRequired(Exception):
    """Raised by page dependencies; the app answers with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def get_settings(request: Request) -> CentralSettings:
    settings: CentralSettings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_now(request: Request) -> dt.datetime:
    """The server's clock, one read per request (tests may replace ``app.state.clock``)."""
    now: dt.datetime = request.app.state.clock()
    return now


def client_address(request: Request) -> str:
    """The peer's address (the server trusts no forwarded-for header: proxy_headers is off)."""
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[CentralSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
NowDep = Annotated[dt.datetime, Depends(get_now)]


def optional_user(request: Request, db: SessionDep) -> m.User | None:
    token = request.cookies.get(SESSION_COOKIE)
    return crud.user_by_session(db, token) if token else None


def current_user(user: Annotated[m.User | None, Depends(optional_user)]) -> m.User:
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first (POST /api/v1/login)")
    return user


def page_user(request: Request, user: Annotated[m.User | None, Depends(optional_user)]) -> m.User:
    if user is None:
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return user


CurrentUser = Annotated[m.User, Depends(current_user)]
PageUser = Annotated[m.User, Depends(page_user)]


def _store_for(db: Session, user: m.User, store_id: str) -> m.Store:
    store = db.get(m.Store, store_id)
    if store is None and user.role is m.Role.admin:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no store {store_id!r}")
    # For everyone else unknown and forbidden look alike, so store ids cannot be probed.
    if store is None or not crud.can_read_store(user, store):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to store {store_id!r}")
    return store


def _region_for(db: Session, user: m.User, region_id: str) -> m.Region:
    region = db.get(m.Region, region_id)
    if region is None and user.role is m.Role.admin:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no region {region_id!r}")
    if region is None or not crud.can_read_region(user, region):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to region {region_id!r}")
    return region


# The id rule of crud._ID: anything else cannot name a store, and never reaches the database.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
StoreId = Annotated[str, Path(pattern=ID_PATTERN)]
RegionId = Annotated[str, Path(pattern=ID_PATTERN)]


def authorized_store(store_id: StoreId, user: CurrentUser, db: SessionDep) -> m.Store:
    return _store_for(db, user, store_id)


def authorized_region(region_id: RegionId, user: CurrentUser, db: SessionDep) -> m.Region:
    return _region_for(db, user, region_id)


def page_store(store_id: StoreId, user: PageUser, db: SessionDep) -> m.Store:
    return _store_for(db, user, store_id)


def page_region(region_id: RegionId, user: PageUser, db: SessionDep) -> m.Region:
    return _region_for(db, user, region_id)


AuthorizedStore = Annotated[m.Store, Depends(authorized_store)]
AuthorizedRegion = Annotated[m.Region, Depends(authorized_region)]
PageStore = Annotated[m.Store, Depends(page_store)]
PageRegion = Annotated[m.Region, Depends(page_region)]


def current_device(
    db: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> m.Device:
    """The registered, unrevoked device whose bearer token came with the request; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    device = crud.device_by_token(db, credentials.credentials)
    if device is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked device token", headers={"WWW-Authenticate": "Bearer"})
    return device


def _take_token(request: Request, key: str, device: m.Device) -> None:
    wait_s = request.app.state.rate_limiter.allow(key)
    if wait_s > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"device {device.id!r} is sending too often; retry in {wait_s:.1f} s",
            headers={"Retry-After": str(max(1, round(wait_s + 0.5)))},
        )


def rate_limited_device(request: Request, device: Annotated[m.Device, Depends(current_device)]) -> m.Device:
    """The device, once its token bucket allows another request; 429 with Retry-After otherwise."""
    _take_token(request, device.id, device)
    return device


def heartbeat_device(request: Request, device: Annotated[m.Device, Depends(current_device)]) -> m.Device:
    """The device, once its heartbeat bucket allows another beat; 429 with Retry-After otherwise.

    Same rate as ingest, in a bucket of its own: a terminal catching up on its outbox sends batches as fast as it
    may, and its heartbeat (never retried) must not be refused for that. The key holds a space, which no device
    id can (ID_PATTERN), so it cannot be another device's ingest bucket.
    """
    _take_token(request, f"{device.id} heartbeat", device)
    return device


CurrentDevice = Annotated[m.Device, Depends(rate_limited_device)]
HeartbeatDevice = Annotated[m.Device, Depends(heartbeat_device)]
