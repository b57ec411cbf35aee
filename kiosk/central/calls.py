"""Manager calls: stored once per call id, read back as the open calls of a store or a region.

A call is "open" for :data:`OPEN_FOR` after the server received it: long enough for a manager to walk over, short
enough that yesterday's call does not sit on today's page as if someone were waiting. Older calls stay listed on
the day they were made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiosk.central import models as m
from kiosk.wire.manager_call import ManagerCallPayload

OPEN_FOR = dt.timedelta(minutes=30)


def record_call(session: Session, device: m.Device, call: ManagerCallPayload, now: dt.datetime) -> tuple[m.ManagerCall, bool]:
    """Store ``call`` from ``device`` received at ``now``; returns (the call, whether it was new). Commits.

    ``call.device_id`` must already be checked against the token's device (the route answers 403 otherwise).
    """
    call_id = str(call.call_id)
    seen = session.get(m.ManagerCall, call_id)
    if seen is not None:
        return seen, False
    row = m.ManagerCall(id=call_id, store_id=device.store_id, device_id=device.id,
                        called_at=call.called_at.astimezone(dt.UTC), received_at=now)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the same call arriving twice at once: the first one stands
        session.rollback()
        return session.get(m.ManagerCall, call_id) or row, False
    return row, True


def recent_calls(session: Session, store_ids: Sequence[str], now: dt.datetime, window: dt.timedelta) -> list[m.ManagerCall]:
    """Calls received in the last ``window`` for any of ``store_ids``, newest first."""
    if not store_ids:
        return []
    return list(session.scalars(
        select(m.ManagerCall)
        .where(m.ManagerCall.store_id.in_(list(store_ids)), m.ManagerCall.received_at >= now - window)
        .order_by(m.ManagerCall.received_at.desc())
        .limit(200)
    ))


def calls_between(session: Session, store_id: str, start: dt.datetime, end: dt.datetime) -> list[m.ManagerCall]:
    """A store's calls received in ``[start, end)``, oldest first (the manager's day)."""
    return list(session.scalars(
        select(m.ManagerCall)
        .where(m.ManagerCall.store_id == store_id, m.ManagerCall.received_at >= start, m.ManagerCall.received_at < end)
        .order_by(m.ManagerCall.received_at)
    ))
