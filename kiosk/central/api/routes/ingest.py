"""``POST /api/v1/aggregates``: a terminal's sync batch (DESIGN §5 Sync)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from kiosk.wire.aggregate import AggregateBatch
from kiosk.central.deps import CurrentDevice, NowDep, SessionDep
from kiosk.central.ingest import BatchConflict, IngestForbidden, IngestInvalid, IngestRules, apply_batch, check_batch
from kiosk.central.schemas import BatchAck

router = APIRouter(tags=["ingest"])


@router.post(
    "/aggregates",
    response_model=BatchAck,
    responses={
        401: {"description": "Missing, unknown or revoked device token."},
        403: {"description": "The batch names another device or another store."},
        409: {"description": "The batch_id was used by another device."},
        413: {"description": "The body is larger than the server's limit."},
        422: {"description": "A field is invalid; the message names it."},
        429: {"description": "The device sends too often; see Retry-After."},
    },
)
def post_aggregates(batch: AggregateBatch, device: CurrentDevice, db: SessionDep, now: NowDep, request: Request) -> BatchAck:
    """Apply a device's batch once: a ``batch_id`` seen before is acknowledged again without change."""
    try:
        check_batch(device, batch.device_id, batch.aggregates, IngestRules.at(now, request.app.state.settings))
    except IngestForbidden as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from None
    except IngestInvalid as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(e)) from None
    if len(batch.aggregates) > request.app.state.settings.max_batch_aggregates:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            f"at most {request.app.state.settings.max_batch_aggregates} aggregates per batch")
    try:
        with request.app.state.write_lock:
            result = apply_batch(db, device, str(batch.batch_id), list(batch.aggregates), now)
    except BatchConflict as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    return BatchAck(batch_id=result.batch_id, accepted=result.accepted, duplicate=result.duplicate)
