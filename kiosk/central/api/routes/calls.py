"""``POST /api/v1/manager-calls``: a customer at a terminal asked for a manager (kiosk.device.manager_call sends it);
and the two additive reads beside the reports: a store's manager calls and its follow-up answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from kiosk.central import calls
from kiosk.central import models as m
from kiosk.central.api.routes.reports import FromQ, ToQ, range_or_default
from kiosk.central.dashboard.figures import reasons_by_store
from kiosk.central.deps import AuthorizedStore, NowDep, SessionDep, _take_token, current_device
from kiosk.wire.manager_call import ManagerCallPayload

router = APIRouter(tags=["manager calls"])


class ManagerCallAck(BaseModel):
    call_id: str
    store_id: str
    received_at: str
    duplicate: bool


def call_device(request: Request, device: Annotated[m.Device, Depends(current_device)]) -> m.Device:
    """The device, once its own manager-call bucket allows another call (a stuck button cannot flood pages)."""
    _take_token(request, f"{device.id} manager-call", device)
    return device


@router.post(
    "/manager-calls",
    response_model=ManagerCallAck,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The same call_id was already stored (a retried request)."},
        401: {"description": "Missing, unknown or revoked device token."},
        403: {"description": "The body names another device."},
        422: {"description": "A field is invalid or unknown; the message names it."},
        429: {"description": "The device calls too often; see Retry-After."},
    },
)
def post_manager_call(call: ManagerCallPayload, device: Annotated[m.Device, Depends(call_device)], db: SessionDep,
                      now: NowDep, request: Request, response: Response) -> ManagerCallAck:
    """Store the call at the server's time; the store's page and its region's alerts show it at once."""
    if call.device_id != device.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"device_id {call.device_id!r} in the body is not the token's device {device.id!r}")
    with request.app.state.write_lock:
        row, new = calls.record_call(db, device, call, now)
    if not new:
        response.status_code = status.HTTP_200_OK
    return ManagerCallAck(call_id=row.id, store_id=row.store_id, received_at=row.received_at.isoformat(),
                          duplicate=not new)


class ManagerCallOut(BaseModel):
    call_id: str
    device_id: str
    called_at: dt.datetime = Field(description="The terminal's clock at the tap.")
    received_at: dt.datetime = Field(description="The server's clock when the call arrived.")


class StoreReasons(BaseModel):
    store_id: str
    date_from: dt.date
    date_to: dt.date
    counts: dict[str, int] = Field(description="Follow-up answers per reason code (kiosk.wire.aggregate.REASON_CODES).")


@router.get("/stores/{store_id}/manager-calls", response_model=list[ManagerCallOut], tags=["reports"])
def get_manager_calls(store: AuthorizedStore, db: SessionDep, now: NowDep, date_from: FromQ = None,
                      date_to: ToQ = None) -> list[ManagerCallOut]:
    """The store's manager calls received in the range (UTC days; the last 28 days when left out), oldest first."""
    first, last = range_or_default(date_from, date_to, now)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    return [ManagerCallOut(call_id=c.id, device_id=c.device_id, called_at=c.called_at, received_at=c.received_at)
            for c in calls.calls_between(db, store.id, start, end)]


@router.get("/stores/{store_id}/reasons", response_model=StoreReasons, tags=["reports"])
def get_reasons(store: AuthorizedStore, db: SessionDep, now: NowDep, date_from: FromQ = None,
                date_to: ToQ = None) -> StoreReasons:
    """Follow-up answers of the store over local days (the last 28 days when left out)."""
    first, last = range_or_default(date_from, date_to, now)
    if last < first:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"to ({last}) is before from ({first})")
    counts = reasons_by_store(db, [store.id], first, last)[store.id].counts
    return StoreReasons(store_id=store.id, date_from=first, date_to=last, counts=counts)
