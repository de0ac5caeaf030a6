"""Passwords: argon2 hashes, checked off the event loop, and what makes a new one acceptable."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.i18n import gettext as _

_hasher = PasswordHasher()
# Verifying against this keeps "no such user" as slow as "wrong password".
_DUMMY_HASH = _hasher.hash("kehai-timing-equaliser")


def use_fast_hashing() -> None:
    """Cheap argon2 parameters for the test suite only (hashes stay verifiable)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("kehai-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < 8:
        return _("Choose a password of at least 8 characters.")
    if len(password) > 256:
        return _("That password is too long.")
    if password.isdigit() or len(set(password)) < 4:
        return _("That password is too easy to guess.")
    return None
