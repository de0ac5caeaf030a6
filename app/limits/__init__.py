"""Rate limits, enforced in one place: one `enforce()` makes every 429 of the app."""

from __future__ import annotations

import math
from typing import Protocol

from werkzeug.exceptions import TooManyRequests

Rule = tuple[int, float]  # (attempts, window in seconds)


class Limiter(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count one attempt; return seconds to wait if over the limit, else None."""


def retry_after(seconds: float) -> int:
    """What a Retry-After header says: whole seconds, at least one."""
    return max(1, math.ceil(seconds))


class Limits:
    """The app's limiter (memory or Redis) behind the one call every route makes."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def wait(self, key: str, rule: Rule) -> float | None:
        """Count an attempt; seconds to wait when over the limit (for non-HTTP callers)."""
        return await self.limiter.hit(key, *rule)

    async def enforce(self, key: str, rule: Rule, message: str) -> None:
        """Count an attempt; over the limit, answer 429 with Retry-After and `message`."""
        wait = await self.limiter.hit(key, *rule)
        if wait is not None:
            raise TooManyRequests(message, retry_after=retry_after(wait))
