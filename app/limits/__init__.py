"""Rate limits, enforced in one place: one `enforce()` makes every 429 of the app."""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple, Protocol

from werkzeug.exceptions import TooManyRequests

Rule = tuple[int, float]  # (attempts, window in seconds)
KEY_MAX = 64


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count one attempt; return seconds to wait if over the limit, else None."""

    async def peek(self, key: str, limit: int, window: float) -> float | None:
        """Seconds to wait if already over the limit, else None; counts nothing."""


def retry_after(seconds: float) -> int:
    """What a Retry-After header says: whole seconds, at least one."""
    return max(1, math.ceil(seconds))


def bounded_key(key: str) -> str:
    """The key a limiter stores: short keys as they are, long ones as a digest.

    Keys are built from what clients send (names, addresses); whatever a caller puts in
    one, no limiter ever keeps more than ~64 bytes for it.
    """
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"{key[:24]}#{digest}"


# ASGI scope key: the limit a handler in front of Quart already counted for this very request
# before handing it over (app/messages/lean.py), with its verdict, so that Quart does not
# count it twice.
COUNTED = "kehai.limit_counted"


class Counted(NamedTuple):
    key: str
    wait: float | None  # the verdict: seconds to wait, or None when allowed


class Limits:
    """The app's limiter (memory or Redis) behind the one call every route makes."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def wait(self, key: str, rule: Rule) -> float | None:
        """Count an attempt; seconds to wait when over the limit (for non-HTTP callers)."""
        return await self.limiter.hit(bounded_key(key), *rule)

    async def enforce(self, key: str, rule: Rule, message: str) -> None:
        """Count an attempt; over the limit, answer 429 with Retry-After and `message`."""
        self.refuse(await self.wait(key, rule), message)

    async def over(self, key: str, rule: Rule) -> float | None:
        """Seconds to wait if `key` is already over the limit, else None; counts nothing."""
        return await self.limiter.peek(bounded_key(key), *rule)

    async def check(self, key: str, rule: Rule, message: str) -> None:
        """Answer 429 if `key` is already over the limit; counts nothing (see `wait`)."""
        self.refuse(await self.over(key, rule), message)

    @staticmethod
    def refuse(wait: float | None, message: str) -> None:
        """The one 429 of the app: Retry-After from `wait`, when there is one."""
        if wait is not None:
            raise TooManyRequests(message, retry_after=retry_after(wait))
