"""Aggregation and small-group suppression (kiosk.core.privacy), the wire model (kiosk.wire.aggregate), and the raw bytes
that stay on the terminal (the SQLite file) or leave it (every sync payload)."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from kiosk.wire.aggregate import Aggregate, AggregateBatch, MeasureStats
from kiosk.core.privacy import TimedInteraction, TimedRating, aggregate, measure_stats
from kiosk.device.database import Store
from kiosk.device.sync import fill_outbox, sync_once
from tests.storekit import T0, abandoned, ended, served, settings
from tests.syncserver import SyncServer

K = 5


def at(hour: int, minute: int = 0, day: int = 0) -> datetime:
    return T0.replace(hour=hour, minute=minute) + timedelta(days=day)


def group(n: int, hour: int, day: int = 0, **kw: object) -> list[TimedInteraction]:
    return [TimedInteraction(served(**kw), at(hour, i % 60, day)) for i in range(n)]  # type: ignore[arg-type]


def rows(interactions: list[TimedInteraction], ratings: Sequence[TimedRating] = (), k: int = K) -> list[Aggregate]:
    return aggregate(interactions, ratings, store_id="berlin-01", device_id="pi-0042", k=k)


def shape(result: list[Aggregate]) -> list[tuple[str, int, int]]:
    return [(a.period, a.period_start.hour, a.interactions) for a in result]


# ---- the suppression rule, as a table: (case, interactions per hour, expected rows) ----------------------------

RULE_CASES = [
    ("big hours stay hourly", {9: 5, 10: 7}, [("hour", 9, 5), ("hour", 10, 7)]),
    ("a day under k is dropped whole", {9: 2, 14: 2}, []),
    ("small hours merge into one day row", {9: 6, 10: 2, 11: 3}, [("hour", 9, 6), ("day", 0, 5)]),
    ("small hours alone that reach k make only a day row", {9: 3, 15: 3}, [("day", 0, 6)]),
    ("a remainder under k takes in the smallest hour", {9: 7, 10: 6, 14: 2}, [("hour", 9, 7), ("day", 0, 8)]),
    ("folding stops once the remainder reaches k", {9: 8, 10: 5, 11: 5, 14: 1},
     [("hour", 9, 8), ("hour", 11, 5), ("day", 0, 6)]),
    ("one hour with everything", {12: 30}, [("hour", 12, 30)]),
]


@pytest.mark.parametrize("case, per_hour, expected", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_suppression_rule(case: str, per_hour: dict[int, int], expected: list[tuple[str, int, int]]) -> None:
    interactions = [ti for hour, n in per_hour.items() for ti in group(n, hour)]
    assert shape(rows(interactions)) == expected


@pytest.mark.parametrize("seed", range(20))
def test_rows_partition_each_sent_day_and_every_row_has_at_least_k(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [0, 0, 1, 2, 4, 5, 9]
    interactions = [ti for day in range(3) for hour in range(7, 20) for ti in group(rng.choice(sizes), hour, day)]
    result = rows(interactions)
    for day in range(3):
        in_day = [ti for ti in interactions if ti.started_at.date() == at(0, day=day).date()]
        day_rows = [a for a in result if a.period_start.date() == at(0, day=day).date()]
        expected = len(in_day) if len(in_day) >= K else 0
        assert sum(a.interactions for a in day_rows) == expected
    assert all(a.interactions >= K for a in result)
    assert len({a.key for a in result}) == len(result)


def test_input_order_does_not_change_the_rows() -> None:
    # a clock that jumped back stores rows out of time order; the grouping must not care
    interactions = group(6, 9) + group(3, 11) + group(4, 15)
    shuffled = interactions[:]
    random.Random(1).shuffle(shuffled)
    assert rows(shuffled) == rows(interactions)


def test_percentiles_interpolate_like_numpy() -> None:
    values = [3.0, 1.0, 7.5, 2.25, 10.0, 4.0]
    stats = measure_stats(values, K)
    assert stats.p50 == round(float(np.percentile(values, 50)), 3)
    assert stats.p90 == round(float(np.percentile(values, 90)), 3)
    assert stats.mean == round(float(np.mean(values)), 3)


def test_measure_with_fewer_than_k_values_sends_only_its_count() -> None:
    interactions = group(2, 9) + [TimedInteraction(abandoned(), at(9, 30)) for _ in range(4)]
    (row,) = rows(interactions)
    assert row.greeting_s == MeasureStats(n=2)
    assert (row.greeted, row.abandoned, row.interactions) == (2, 4, 6)


def test_within_target_counts_met_over_the_interactions_it_applied_to() -> None:
    verdicts = [{"greeting_prompt": i % 3 != 0, "wait_time": True} for i in range(6)]
    interactions = [TimedInteraction(served(), at(9, i), v) for i, v in enumerate(verdicts)]
    interactions.append(TimedInteraction(served(), at(9, 50), {"greeting_prompt": True}))
    (row,) = rows(interactions)
    assert row.within_target["greeting_prompt"].model_dump() == {"n": 7, "met": 5}
    assert row.within_target["wait_time"].model_dump() == {"n": 6, "met": 6}


def test_within_target_met_is_hidden_when_the_criterion_applied_to_fewer_than_k() -> None:
    interactions = group(6, 9)
    interactions[0] = TimedInteraction(served(), at(9), {"mutual_facing": True})
    (row,) = rows(interactions)
    assert row.within_target["mutual_facing"].model_dump() == {"n": 1, "met": None}


def test_linked_rating_counts_with_its_interaction() -> None:
    interactions = group(5, 9, rating=4)
    (row,) = rows(interactions)
    assert row.ratings == {"1": 0, "2": 0, "3": 0, "4": 5}


def test_standalone_rating_counts_in_the_hour_it_was_tapped() -> None:
    (row,) = rows(group(5, 9), [TimedRating(2, at(9, 40))])
    assert (row.period, row.ratings["2"]) == ("hour", 1)


def test_no_customer_rating_is_never_counted() -> None:
    (row,) = rows(group(5, 9), [TimedRating(1, at(9, 40), no_customer=True)])
    assert sum(row.ratings.values()) == 0


def test_k_under_two_is_refused() -> None:
    with pytest.raises(ValueError, match="min_group_size"):
        rows(group(3, 9), k=1)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TimedInteraction(served(), datetime(2025, 3, 4, 9))


# ---- the wire model ------------------------------------------------------------------------------------------

DESIGN_FIELDS = {"store_id", "device_id", "period_start", "period", "interactions", "greeted", "abandoned", "ratings",
                 "greeting_s", "wait_s", "eye_contact_ratio", "distance_m_median", "within_target"}


def a_row() -> dict[str, object]:
    return json.loads(rows(group(6, 9))[0].model_dump_json())


def test_aggregate_fields_are_exactly_design_section_5() -> None:
    assert set(a_row()) == DESIGN_FIELDS


@pytest.mark.parametrize("case, change, message", [
    ("an unknown field such as a track id", {"track_id": 3}, "Extra inputs"),
    ("a start off the hour", {"period_start": "2025-03-04T09:30:00Z"}, "on the hour"),
    ("a naive start", {"period_start": "2025-03-04T09:00:00"}, "timezone"),
    ("a day row not at midnight", {"period": "day"}, "00:00"),
    ("a missing rating value", {"ratings": {"1": 0, "2": 0, "3": 0}}, "exactly the keys"),
    ("a row of one", {"interactions": 1}, "greater than or equal to 2"),
    ("more greeted than customers", {"greeted": 7}, "exceeds interactions"),
    ("a free-text criterion id", {"within_target": {"Jane served badly": {"n": 6, "met": 1}}}, "criterion ids"),
    ("a percentile without its mean", {"wait_s": {"n": 6, "p50": 1.0, "p90": 2.0, "mean": None}}, "all set or all"),
])
def test_aggregate_refuses(case: str, change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Aggregate.model_validate_json(json.dumps({**a_row(), **change}))


def test_batch_refuses_another_devices_rows() -> None:
    row = rows(group(6, 9))[0]
    with pytest.raises(ValidationError, match="batch's device_id"):
        AggregateBatch(device_id="pi-9999", batch_id=uuid.uuid4(), aggregates=[row])


def test_batch_json_round_trips() -> None:
    batch = AggregateBatch(device_id="pi-0042", batch_id=uuid.uuid4(), aggregates=rows(group(6, 9) + group(7, 10)))
    assert AggregateBatch.model_validate_json(batch.model_dump_json()) == batch


# ---- the real bytes ------------------------------------------------------------------------------------------

Terminal = tuple[Store, SyncServer, list[str]]
FORBIDDEN = [b"keypoint", b"track", b"bbox", b"landmark", b"image", b"\xff\xd8\xff", b"\x89PNG"]
PER_INTERACTION_FIELDS = ["arrived_at", "greeted_at", "left_at", "service_s", "distance_m_min", "rubric_scores", '"id"']


@pytest.fixture()
def busy_terminal(tmp_path: Path) -> Iterator[Terminal]:
    """Two days of a terminal: a busy hour, quiet hours, a day under k; then closed and synced to a server."""
    cfg = settings(tmp_path, k=K)
    store = Store.in_data_dir(tmp_path)
    ids = []
    plan = [(0, 9, 8), (0, 11, 2), (0, 16, 4), (1, 10, 3)]  # (day, hour, customers); day 1 has 3 < k
    for day, hour, n in plan:
        for i in range(n):
            item = served(greeting_s=1.0 + i, rating=1 + i % 4, scores={"greeting_prompt": 1.0})
            store.add_interaction(item, ended(at(hour, i, day)), {"greeting_prompt": i % 2 == 0})
            ids.append(item.id)
    with SyncServer() as server:
        cfg = settings(tmp_path, server.url, k=K)
        fill_outbox(store, cfg, at(12, day=2))
        sync_once(store, cfg)
        yield store, server, ids
    store.close()


def test_database_file_and_wal_hold_no_pixels_or_tracking_words(busy_terminal: Terminal) -> None:
    store, _, _ = busy_terminal
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob("terminal.sqlite*"))
    assert len(raw) > 4096
    assert [word for word in FORBIDDEN if word in raw.lower()] == []


def test_payloads_hold_no_ids_no_per_interaction_fields_and_no_forbidden_bytes(busy_terminal: Terminal) -> None:
    _, server, ids = busy_terminal
    assert server.bodies
    for body in server.bodies:
        assert [w for w in FORBIDDEN if w in body.lower()] == []
        assert [f for f in PER_INTERACTION_FIELDS if f in body.decode()] == []
        assert not any(i in body.decode() for i in ids)
        assert not re.search(rb"[0-9a-f]{32}", body)  # no uuid hex; batch ids are hyphenated, and they name batches


def test_groups_under_k_never_leave_the_device(busy_terminal: Terminal) -> None:
    _, server, _ = busy_terminal
    sent = [a for batch in server.applied.values() for a in batch.aggregates]
    assert [(a.period, a.period_start.day, a.period_start.hour, a.interactions) for a in sent] == [
        ("hour", 4, 9, 8), ("day", 4, 0, 6)]  # 11:00 (2) and 16:00 (4) merged; day 2 (3 customers) dropped
    assert all(a.interactions >= K for a in sent)


# ---- follow-up answers (reason counts) ---------------------------------------------------------------------------

def test_reason_counts_travel_in_the_row_of_their_hour_and_merge_with_small_hours() -> None:
    from kiosk.core.privacy import ReasonCount

    interactions = group(6, 9) + group(2, 10) + group(3, 11)
    reasons = [ReasonCount(at(9), "quick", 4), ReasonCount(at(10), "waiting", 1), ReasonCount(at(11), "waiting", 2)]
    result = aggregate(interactions, (), reasons, store_id="berlin-01", device_id="pi-0042", k=K)
    assert [(a.period, a.period_start.hour, a.reasons) for a in result] == [
        ("hour", 9, {"quick": 4}), ("day", 0, {"waiting": 3})]


def test_reason_counts_of_a_day_under_k_are_dropped_with_it() -> None:
    from kiosk.core.privacy import ReasonCount

    result = aggregate(group(3, 9), (), [ReasonCount(at(9), "attitude", 3)], store_id="s", device_id="d", k=K)
    assert result == []


def test_a_row_without_answers_is_serialised_as_older_terminals_did() -> None:
    (row,) = rows(group(6, 9))
    assert "reasons" not in json.loads(row.model_dump_json())
    assert Aggregate.model_validate_json(row.model_dump_json()) == row


def test_the_wire_accepts_only_known_reason_codes_with_non_negative_counts() -> None:
    (row,) = rows(group(6, 9))
    base = json.loads(row.model_dump_json())
    assert Aggregate.model_validate(base | {"reasons": {"helpful": 2}}).reasons == {"helpful": 2}
    for bad in ({"rude": 1}, {"quick": -1}, {"quick": "x"}):
        with pytest.raises(ValidationError):
            Aggregate.model_validate(base | {"reasons": bad})
