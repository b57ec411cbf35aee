"""Valid-by-the-wire-model aggregates with any values: the server stores them or answers 422, never 500,
and what it stores adds up (property test, on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.wire.aggregate import Aggregate

from .conftest import Clock
from .helpers import Org, auth, login

_BIG = st.integers(min_value=0, max_value=2**63)
_FLOAT = st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False)


@st.composite
def aggregates(draw: st.DrawFn) -> dict[str, Any]:
    # One aggregate in five is extreme (huge counts, huge values, far dates): refused with a 422, not a 500.
    wild = draw(st.integers(0, 4)) == 0
    interactions = draw(st.integers(2, 2**62) if wild else st.integers(2, 50))
    part = st.integers(0, interactions)

    def measure(top: float) -> dict[str, Any]:
        n = draw(part)
        if n == 0 or draw(st.booleans()):
            return {"n": n, "p50": None, "p90": None, "mean": None}
        lo, hi = sorted([draw(st.floats(0, top)), draw(_FLOAT if wild else st.floats(0, top))])
        return {"n": n, "p50": lo, "p90": hi, "mean": draw(st.floats(0, top))}

    years = (1990, 2110) if wild else (2020, 2030)
    start = draw(st.datetimes(min_value=dt.datetime(years[0], 1, 1), max_value=dt.datetime(years[1], 1, 1))).replace(
        minute=0, second=0, microsecond=0, tzinfo=dt.UTC)
    period = draw(st.sampled_from(["hour", "day"]))
    if period == "day":
        start = start.replace(hour=0)
    crits = draw(st.dictionaries(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True), st.just(0), max_size=3))
    within = {}
    for c in crits:
        n = draw(part)
        within[c] = {"n": n, "met": draw(st.one_of(st.none(), st.integers(0, n)))}
    return {
        "store_id": "n1", "device_id": "d-n1", "period": period, "period_start": start.isoformat(),
        "interactions": interactions, "greeted": draw(part), "abandoned": draw(part),
        "ratings": {k: draw(_BIG if wild else st.integers(0, 20)) for k in "1234"},
        "greeting_s": measure(600), "wait_s": measure(3600), "eye_contact_ratio": measure(1.0),
        "distance_m_median": measure(5.0), "within_target": within,
    }


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(rows=st.lists(aggregates(), min_size=1, max_size=4))
def test_any_valid_aggregate_is_stored_or_refused_never_500(
    client: TestClient, org: Org, clock: Clock, rows: list[dict[str, Any]]
) -> None:
    valid = [a for a in rows if _wire_ok(a)]
    if not valid:
        return
    clock.mono += 60  # a minute between examples: the rate limit is not what this tests
    body = {"device_id": "d-n1", "batch_id": str(uuid.uuid4()), "aggregates": valid}
    r = client.post("/api/v1/aggregates", json=body, headers=auth(org.tokens["d-n1"]))
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        login(client, "admin")
        day = dt.datetime.fromisoformat(valid[0]["period_start"]).date()
        assert client.get(f"/api/v1/stores/n1/daily?date={day}").status_code == 200


def _wire_ok(a: dict[str, Any]) -> bool:
    try:
        Aggregate.model_validate(a)
    except ValueError:
        return False
    return True
