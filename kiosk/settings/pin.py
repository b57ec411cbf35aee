"""The staff PIN, kept only as a salted scrypt hash (``terminal.staff_pin_hash``).

The stored form is ``scrypt$<n>$<r>$<p>$<salt base64>$<hash base64>``. ``kiosk --config FILE set-pin`` asks for
the PIN twice and writes its hash (:func:`hash_pin`) into the settings file; the plain PIN is never stored or logged. Checking takes ~50 ms (x86) to a few hundred (Pi), which
is why the app checks in a worker thread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

PREFIX = "scrypt"
N, R, P = 2**14, 8, 1  # 16 MiB of memory per check: slow to brute-force, fine on a Pi 4
MIN_DIGITS, MAX_DIGITS = 4, 12


@dataclass(frozen=True)
class PinHash:
    """A parsed ``scrypt$n$r$p$salt$hash`` string."""

    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def __str__(self) -> str:
        b64 = base64.b64encode
        return f"{PREFIX}${self.n}${self.r}${self.p}${b64(self.salt).decode()}${b64(self.digest).decode()}"


def check_pin_format(pin: str) -> str:
    """Return ``pin`` if it is 4-12 ASCII digits, else raise ``ValueError`` (without echoing the PIN)."""
    if not (MIN_DIGITS <= len(pin) <= MAX_DIGITS and pin.isascii() and pin.isdigit()):
        raise ValueError(f"a staff PIN is {MIN_DIGITS}-{MAX_DIGITS} digits")
    return pin


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """The string to store as ``terminal.staff_pin_hash`` for ``pin`` (4-12 digits)."""
    check_pin_format(pin)
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return str(PinHash(N, R, P, salt, digest))


def parse_pin_hash(text: str) -> PinHash:
    """Parse a stored hash; ``ValueError`` says what is wrong with it (never what the PIN is)."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != PREFIX:
        raise ValueError("staff_pin_hash must look like 'scrypt$n$r$p$salt$hash' (set it with: kiosk --config FILE set-pin)")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError as exc:
        raise ValueError(f"staff_pin_hash is damaged: {exc}") from None
    if n < 2**10 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or len(salt) < 8 or len(digest) < 16:
        raise ValueError("staff_pin_hash has unusable scrypt parameters (n a power of two >= 1024, salt >= 8 bytes)")
    return PinHash(n, r, p, salt, digest)


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches ``stored`` (constant-time comparison). A malformed PIN is simply wrong."""
    try:
        check_pin_format(pin)
    except ValueError:
        return False
    h = parse_pin_hash(stored)
    digest = hashlib.scrypt(pin.encode(), salt=h.salt, n=h.n, r=h.r, p=h.p, dklen=len(h.digest),
                            maxmem=2 * 128 * h.r * (h.n + h.p + 2))
    return hmac.compare_digest(digest, h.digest)
