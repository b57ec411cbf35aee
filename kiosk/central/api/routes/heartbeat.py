"""``POST /api/v1/heartbeat``: a terminal says it is alive (kiosk.device.heartbeat sends it)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from kiosk.central import crud
from kiosk.central.deps import HeartbeatDevice, NowDep, SessionDep
from kiosk.central.schemas import HeartbeatAck
from kiosk.wire.heartbeat import HeartbeatPayload

router = APIRouter(tags=["heartbeat"])


@router.post(
    "/heartbeat",
    response_model=HeartbeatAck,
    responses={
        401: {"description": "Missing, unknown or revoked device token."},
        403: {"description": "The body names another device."},
        413: {"description": "The body is larger than the server's limit."},
        422: {"description": "A field is invalid or unknown; the message names it."},
        429: {"description": "The device sends too often; see Retry-After."},
    },
)
def post_heartbeat(beat: HeartbeatPayload, device: HeartbeatDevice, db: SessionDep, now: NowDep,
                   request: Request) -> HeartbeatAck:
    """Record the device's heartbeat at the server's time, which ``received_at`` returns.

    The body is validated with the terminal's own model (``kiosk.wire.heartbeat.HeartbeatPayload``), extra fields
    refused, so nothing but the device's health numbers can be stored.
    """
    if beat.device_id != device.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"device_id {beat.device_id!r} in the body is not the token's device {device.id!r}")
    try:
        # One writer at a time on SQLite, as for ingest (app.state.write_lock).
        with request.app.state.write_lock:
            crud.record_heartbeat(db, device, beat, now)
            db.commit()
    except ValueError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    return HeartbeatAck(device_id=device.id, received_at=now)
