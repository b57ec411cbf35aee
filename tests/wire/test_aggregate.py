"""The wire model refuses what cannot be stored, with a message instead of a crash (found by schemathesis)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kiosk.wire.aggregate import Aggregate


def test_period_start_without_a_utc_equivalent_is_a_validation_error():
    row = {"abandoned": 0, "device_id": "d", "distance_m_median": {"n": 0}, "eye_contact_ratio": {"n": 0},
           "greeted": 0, "greeting_s": {"n": 0}, "interactions": 5, "period": "day",
           "period_start": "0001-01-01T00:00:00+00:01", "ratings": {"1": 0, "2": 0, "3": 0, "4": 0},
           "store_id": "s", "wait_s": {"n": 0}}
    with pytest.raises(ValidationError, match="has no UTC equivalent"):
        Aggregate.model_validate(row)
