"""``POST /api/v1/manager-calls``: a customer at a terminal asked for a manager (kiosk.manager_call sends it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel

from kiosk.central import calls
from kiosk.central import models as m
from kiosk.central.deps import NowDep, SessionDep, _take_token, current_device
from kiosk.manager_call import ManagerCallPayload

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
