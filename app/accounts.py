"""Passwords: argon2 hashes, checked off the event loop, and what makes a new one acceptable."""

from __future__ import annotations

import asyncio
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.i18n import gettext as _

MAX_DISPLAY_NAME = 64
# Invisible characters that are not Unicode format (Cf) or control (Cc) ones: Hangul fillers,
# the braille blank and the combining grapheme joiner render as nothing, so "Alice" and
# "Alice" plus one of them look the same.
_BLANKS = frozenset("\u034f\u115f\u1160\u2800\u3164\uffa0")
# Control, format (zero-width, bidi marks, overrides and isolates, BOM), surrogate and
# private-use characters: none has a visible glyph of its own.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})

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


def has_invisible(text: str) -> bool:
    """Whether `text` holds a character that shows nothing or reorders what follows it."""
    return any(c in _BLANKS or unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in text)


def clean_name(raw: str) -> str:
    """A name as stored: runs of whitespace (any kind) become one space, ends trimmed."""
    return " ".join(raw.split())


def display_name_problem(name: str) -> str | None:
    """Why a display name (already `clean_name`d) is refused, or None: the one check for
    every place a name is set, so two people cannot look alike through invisible text."""
    if not name:
        return _("Tell people what to call you.")
    if len(name) > MAX_DISPLAY_NAME:
        return _("Keep your name under 64 characters.")
    if has_invisible(name):
        return _("Use visible characters only: invisible formatting and control characters "
                 "are not allowed in names.")
    return None
