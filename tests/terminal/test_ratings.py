"""Which interaction a tap belongs to, repeats counted once, and nothing dropped (RUBRIC-SOURCES R6-R8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.device.feed import PipelineSnapshot
from kiosk.terminal.ratings import Feedback, RatingDesk, RatingRecord

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def snap(status="running", present=False, ended=None) -> PipelineSnapshot:
    return PipelineSnapshot(status=status, customer_at_service=present,
                            last_ended=(ended[0], at(ended[1])) if ended else None)


def desk(dedupe=8.0, link=45.0):
    out: list[RatingRecord] = []
    return RatingDesk(out.append, dedupe_window_s=dedupe, link_window_s=link), out


@pytest.mark.parametrize("case, tap_snap, later, expected", [
    ("customer present: linked to the interaction that ends next",
     snap(present=True, ended=("old", -100)), [(5, snap(ended=("new", 4)))], [RatingRecord(3, at(0), "new")]),
    ("customer present, nothing ends within the link window: stored alone, not flagged",
     snap(present=True), [(30, snap(present=True)), (46, snap())], [RatingRecord(3, at(0))]),
    ("customer just left: linked to that interaction",
     snap(ended=("gone", -10)), [], [RatingRecord(3, at(0), "gone")]),
    ("last interaction ended long ago: alone and flagged no_customer",
     snap(ended=("gone", -100)), [], [RatingRecord(3, at(0), no_customer=True)]),
    ("nobody ever: flagged, never dropped",
     snap(), [], [RatingRecord(3, at(0), no_customer=True)]),
    ("camera down: alone, not flagged (nobody knows who was there)",
     snap(status="camera_error", ended=("gone", -5)), [], [RatingRecord(3, at(0))]),
    ("pipeline still starting: alone, not flagged",
     snap(status="starting"), [], [RatingRecord(3, at(0))]),
    ("camera fails while a tap waits: stored alone at once",
     snap(present=True), [(2, snap(status="camera_error"))], [RatingRecord(3, at(0))]),
])
def test_where_a_tap_goes(case, tap_snap, later, expected):
    d, out = desk()
    d.tap(3, at(0), tap_snap)
    for s, sn in later:
        d.update(at(s), sn)
    assert out == expected, case


def test_repeats_within_the_window_count_once_and_later_taps_count_again():
    d, out = desk(dedupe=8)
    assert d.tap(4, at(0), snap()) == "stored"
    assert d.tap(1, at(3), snap()) == "repeat"
    assert d.tap(2, at(9), snap()) == "stored"
    assert [r.value for r in out] == [4, 2] and d.repeats == 1


def test_a_zero_window_counts_every_tap():
    d, out = desk(dedupe=0)
    d.tap(4, at(0), snap())
    d.tap(4, at(0), snap())
    assert len(out) == 2


def test_an_interaction_is_rated_once_even_by_two_taps():
    d, out = desk(dedupe=0)
    d.tap(4, at(0), snap(ended=("x", -5)))
    d.tap(2, at(1), snap(ended=("x", -5)))
    assert out == [RatingRecord(4, at(0), "x"), RatingRecord(2, at(1), no_customer=True)]


def test_a_waiting_tap_is_stored_when_the_next_customer_taps_or_on_flush():
    d, out = desk(dedupe=0)
    d.tap(4, at(0), snap(present=True))
    d.tap(3, at(20), snap(present=True))
    assert out == [RatingRecord(4, at(0))]
    d.flush()
    assert out[-1] == RatingRecord(3, at(20)) and not d.waiting


def test_a_failing_write_is_counted_not_raised():
    def broken(_record):
        raise OSError("disk full")
    d = RatingDesk(broken, dedupe_window_s=0, link_window_s=10)
    assert d.tap(4, at(0), snap()) == "stored"
    assert d.write_errors == 1


@pytest.mark.parametrize("case, kwargs, message", [
    ("value out of range", {"value": 5, "rated_at": T0}, "1-4"),
    ("naive time", {"value": 3, "rated_at": datetime(2025, 1, 1)}, "timezone-aware"),
    ("linked and flagged", {"value": 3, "rated_at": T0, "interaction_id": "x", "no_customer": True}, "no_customer"),
])
def test_invalid_records_are_refused(case, kwargs, message):
    with pytest.raises(ValueError, match=message):
        RatingRecord(**kwargs)


def test_invalid_taps_windows_and_feedback_are_refused():
    with pytest.raises(ValueError, match="1-4"):
        desk()[0].tap(0, T0, snap())
    with pytest.raises(ValueError, match="windows"):
        RatingDesk(lambda r: None, dedupe_window_s=-1, link_window_s=1)
    with pytest.raises(ValueError, match="reason"):
        Feedback("reason", T0, reason="rude")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="manager"):
        Feedback("manager", T0, reason="waiting")


@pytest.mark.parametrize("case, kwargs, message", [
    ("unknown status", {"status": "broken"}, "status"),
    ("negative fps", {"status": "running", "fps": -1.0}, "fps"),
    ("naive end time", {"status": "running", "last_ended": ("x", datetime(2025, 1, 1))}, "last_ended"),
])
def test_invalid_snapshots_are_refused(case, kwargs, message):
    with pytest.raises(ValueError, match=message):
        PipelineSnapshot(**kwargs)
