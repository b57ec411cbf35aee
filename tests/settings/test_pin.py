"""The staff PIN is stored only as a salted scrypt hash."""

from __future__ import annotations

import pytest

from kiosk.settings.pin import hash_pin, parse_pin_hash, verify_pin


def test_a_hash_verifies_its_pin_only_and_never_contains_it():
    stored = hash_pin("482916")
    assert stored.startswith("scrypt$") and "482916" not in stored
    assert verify_pin("482916", stored)
    assert not verify_pin("482917", stored)
    assert not verify_pin("", stored) and not verify_pin("abcd", stored)
    assert hash_pin("482916") != stored  # salted


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "١٢٣٤"])
def test_unusable_pins_are_refused_without_echoing_them(pin):
    with pytest.raises(ValueError, match="4-12 digits") as err:
        hash_pin(pin)
    assert pin not in str(err.value)


@pytest.mark.parametrize("case, text, message", [
    ("a plain PIN", "2468", "scrypt\\$n\\$r\\$p"),
    ("damaged base64", "scrypt$16384$8$1$!!$!!", "damaged"),
    ("weak parameters", "scrypt$16$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==", "unusable"),
])
def test_bad_stored_hashes_are_named(case, text, message):
    with pytest.raises(ValueError, match=message):
        parse_pin_hash(text)
