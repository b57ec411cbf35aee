"""Secrets: argon2 for passwords, random bearer tokens stored as SHA-256.

Passwords are low-entropy, so they get a slow, salted hash (argon2id). Device and session tokens are 256 bits of
randomness: a fast hash cannot be brute-forced and lets the server find the row by equality.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing of "no such user" and "wrong password" alike.
_DUMMY_HASH = _hasher.hash("not-a-password")

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """Args: password (at least MIN_PASSWORD_LENGTH characters). Returns: an argon2id hash string."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}")
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when ``password`` matches; a missing hash still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A URL-safe random token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Hex SHA-256 of a token: what the database stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_token(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
