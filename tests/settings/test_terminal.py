"""TerminalSettings: strict, bounded, and documented (every field has a description)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kiosk.settings.pin import hash_pin
from kiosk.settings.terminal import TerminalSettings


def test_defaults_follow_the_rubric():
    t = TerminalSettings()
    assert t.rating_timeout_s == 30 and t.wait_percentile == 80 and not t.wait_estimate_enabled
    assert t.staff_pin_hash is None and t.languages == ("ru", "fa", "en")


def test_every_setting_is_described():
    missing = [name for name, f in TerminalSettings.model_fields.items() if not f.description]
    assert missing == []


@pytest.mark.parametrize("case, kwargs, fragment", [
    ("unknown key", {"rating_window": 3}, "extra"),
    ("negative dedupe window", {"rating_dedupe_window_s": -1}, "greater than or equal to 0"),
    ("percentile too low", {"wait_percentile": 10}, "greater than or equal to 50"),
    ("unknown language", {"languages": ("ru", "de")}, "'ru', 'fa' or 'en'"),
    ("repeated language", {"languages": ("ru", "ru")}, "must not repeat"),
    ("default not offered", {"languages": ("en",), "default_language": "ru"}, "not in languages"),
    ("a plain PIN", {"staff_pin_hash": "2468"}, "scrypt"),
    ("bad orientation", {"orientation": "upside"}, "landscape"),
])
def test_bad_values_are_refused_with_the_field_named(case, kwargs, fragment):
    with pytest.raises(ValidationError) as err:
        TerminalSettings(**kwargs)
    assert fragment in str(err.value), case


def test_a_real_hash_is_accepted():
    assert TerminalSettings(staff_pin_hash=hash_pin("2468")).staff_pin_hash.startswith("scrypt$")
