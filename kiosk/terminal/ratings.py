"""Rating taps -> stored ratings: which interaction a tap belongs to, repeats counted once, nothing dropped.

Rules (RUBRIC-SOURCES §2e):
- One rating per interaction, repeats counted once (R6, R8): a tap within ``dedupe_window_s`` of the last
  counted tap is a repeat and is not stored; it is counted in :attr:`RatingDesk.repeats` for the staff screen.
- Never drop or trim a rating (R7, X7): every counted tap is stored, linked or alone.
- Linking: the customer taps while still at the service spot, before their interaction ends (it ends only once
  they have left for ``service.service_exit_grace_s``). So a tap made while someone is at the service spot
  waits for the next interaction to end and is linked to it; if none ends within ``link_window_s`` it is
  stored alone. A tap when no one is at the spot links to an interaction that ended within ``link_window_s``
  before it and has no rating yet; otherwise it is stored alone and flagged ``no_customer``.
- With the camera down the desk cannot know who was there: the tap is stored alone, not flagged.

Pure logic: time comes in as arguments, storing goes out through ``write``. The app calls :meth:`tap` on a
tap and :meth:`update` on every snapshot poll; :meth:`flush` on exit stores a tap still waiting for its link.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from kiosk.vocabulary import RATINGS
from kiosk.wire.aggregate import REASON_CODES, ReasonCode
from kiosk.device.feed import PipelineSnapshot

log = logging.getLogger(__name__)

Outcome = Literal["stored", "waiting_for_interaction", "repeat"]


@dataclass(frozen=True)
class RatingRecord:
    """What goes to ``Store.add_rating``: value 1-4, UTC time of the tap, the interaction or None, the flag."""

    value: int
    rated_at: datetime
    interaction_id: str | None = None
    no_customer: bool = False

    def __post_init__(self) -> None:
        if self.value not in RATINGS:
            raise ValueError(f"RatingRecord.value must be 1-4, got {self.value!r}")
        if self.rated_at.tzinfo is None:
            raise ValueError(f"RatingRecord.rated_at must be timezone-aware, got {self.rated_at!r}")
        if self.no_customer and self.interaction_id is not None:
            raise ValueError("RatingRecord: a linked rating cannot be flagged no_customer")


Reason = ReasonCode
REASONS: tuple[Reason, ...] = REASON_CODES


@dataclass(frozen=True)
class ReasonRecord:
    """What goes to ``Store.add_reason``: one follow-up answer and when it was given (only its hour is kept)."""

    reason: Reason
    at: datetime

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"ReasonRecord.reason must be one of {REASONS}, got {self.reason!r}")
        if self.at.tzinfo is None:
            raise ValueError(f"ReasonRecord.at must be timezone-aware, got {self.at!r}")


@dataclass(frozen=True)
class Feedback:
    """What a customer added after a rating: a follow-up answer, or a request for a manager (rubric R1, X4, X5).

    Goes to the app's ``on_feedback`` hook (the log by default); the store keeps answers only as hourly counts.
    """

    kind: Literal["reason", "manager"]
    at: datetime
    rating_at: datetime | None = None
    reason: Reason | None = None

    def __post_init__(self) -> None:
        if self.kind == "reason" and self.reason not in REASONS:
            raise ValueError(f"Feedback.reason must be one of {REASONS}, got {self.reason!r}")
        if self.kind == "manager" and self.reason is not None:
            raise ValueError("Feedback: a manager request carries no reason")
        if self.at.tzinfo is None:
            raise ValueError(f"Feedback.at must be timezone-aware, got {self.at!r}")


def log_feedback(feedback: Feedback) -> None:
    """The default feedback hook: the log (a manager request as a warning)."""
    if feedback.kind == "manager":
        log.warning("a customer asked for a manager at the counter")
    else:
        log.info("follow-up answer: %s", feedback.reason)


@dataclass(frozen=True)
class _Pending:
    value: int
    at: datetime
    ended_before: str | None  # the id of last_ended when the tap was made: the next different one is ours


class RatingDesk:
    """Decides, for each tap, whether and how it is stored.

    Args:
        write: stores one record (the app passes a queue to its writer thread); may raise, which is logged.
        dedupe_window_s: ``terminal.rating_dedupe_window_s``.
        link_window_s: ``terminal.rating_link_window_s``.
    """

    def __init__(self, write: Callable[[RatingRecord], None], *, dedupe_window_s: float, link_window_s: float) -> None:
        if dedupe_window_s < 0 or link_window_s < 0:
            raise ValueError(f"windows must be >= 0 s, got dedupe {dedupe_window_s!r}, link {link_window_s!r}")
        self._write = write
        self._dedupe = timedelta(seconds=dedupe_window_s)
        self._link = timedelta(seconds=link_window_s)
        self._last_counted: datetime | None = None
        self._pending: _Pending | None = None
        self._rated_ids: list[str] = []  # interactions already rated here (recent ones only)
        self.repeats = 0
        self.write_errors = 0

    @property
    def waiting(self) -> bool:
        """A tap is waiting for its interaction to end."""
        return self._pending is not None

    def tap(self, value: int, at: datetime, snap: PipelineSnapshot) -> Outcome:
        """A face was tapped at ``at`` (UTC) while the pipeline showed ``snap``."""
        if value not in RATINGS:
            raise ValueError(f"rating value must be 1-4, got {value!r}")
        if self._last_counted is not None and abs(at - self._last_counted) < self._dedupe:
            self.repeats += 1
            log.info("repeated rating tap within %.0f s counted once", self._dedupe.total_seconds())
            return "repeat"
        self._last_counted = at
        if self._pending is not None:  # an earlier customer's tap still waiting: it will not get a link now
            self._store(RatingRecord(self._pending.value, self._pending.at))
            self._pending = None
        if not snap.camera_ok:
            self._store(RatingRecord(value, at))
            return "stored"
        if snap.customer_at_service:
            self._pending = _Pending(value, at, snap.last_ended[0] if snap.last_ended else None)
            return "waiting_for_interaction"
        recent = self._unrated_recent(snap, at)
        if recent is not None:
            self._store(RatingRecord(value, at, interaction_id=recent))
        else:
            self._store(RatingRecord(value, at, no_customer=True))  # flagged, never dropped (rubric R7)
        return "stored"

    def update(self, now: datetime, snap: PipelineSnapshot) -> None:
        """Resolve a waiting tap: link it when its interaction ended, store it alone when the window passed."""
        p = self._pending
        if p is None:
            return
        ended = snap.last_ended
        if ended is not None and ended[0] != p.ended_before and ended[0] not in self._rated_ids:
            self._pending = None
            self._store(RatingRecord(p.value, p.at, interaction_id=ended[0]))
        elif now - p.at > self._link or not snap.camera_ok:
            self._pending = None
            self._store(RatingRecord(p.value, p.at))

    def flush(self) -> None:
        """Store a waiting tap alone (the app is closing)."""
        if self._pending is not None:
            p, self._pending = self._pending, None
            self._store(RatingRecord(p.value, p.at))

    def _unrated_recent(self, snap: PipelineSnapshot, at: datetime) -> str | None:
        if snap.last_ended is None:
            return None
        iid, ended_at = snap.last_ended
        if iid in self._rated_ids or not timedelta(0) <= at - ended_at <= self._link:
            return None
        return iid

    def _store(self, record: RatingRecord) -> None:
        if record.interaction_id is not None:
            self._rated_ids = (self._rated_ids + [record.interaction_id])[-100:]
        try:
            self._write(record)
        except Exception:  # a full disk must not take the rating screen down; the staff screen shows the count
            self.write_errors += 1
            log.exception("could not store a rating (%s)", record)
