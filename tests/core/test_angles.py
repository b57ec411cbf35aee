"""Angle remainders: every heading and yaw in the package wraps through kiosk.core.angles."""

from __future__ import annotations

import math

import pytest

from kiosk.core.angles import wrap_deg, wrap_rad


@pytest.mark.parametrize("case, a, expected", [
    ("inside stays", 0.5, 0.5),
    ("a turn and a bit", 2 * math.pi + 0.5, 0.5),
    ("three quarters is minus a quarter", 1.5 * math.pi, -0.5 * math.pi),
    ("negative turns", -2.5 * math.pi, -0.5 * math.pi),
    ("half turn comes back as minus half", math.pi, -math.pi),
])
def test_wrap_rad(case, a, expected):
    assert wrap_rad(a) == pytest.approx(expected)


@pytest.mark.parametrize("case, a, expected", [
    ("inside stays", 45.0, 45.0),
    ("past a half turn", 190.0, -170.0),
    ("below minus a half turn", -190.0, 170.0),
    ("two turns", 720.0, 0.0),
    ("plus half turn keeps its sign", 180.0, 180.0),
    ("minus half turn keeps its sign", -180.0, -180.0),
    ("three half turns", 540.0, 180.0),
])
def test_wrap_deg(case, a, expected):
    assert wrap_deg(a) == pytest.approx(expected)
