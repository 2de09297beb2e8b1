"""Password hashing: argon2id through ``argon2-cffi``, with its recommended parameters.

Verification against an unknown account still costs one argon2 run (against a dummy hash), so the
response time of a login does not reveal which e-mail addresses are registered.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Not an argon2 hash, so verification always fails: an erased account can never log in again.
UNUSABLE_PASSWORD_HASH = "!erased"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``None`` (no such account) pays for a verification too."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
