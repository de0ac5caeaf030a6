"""One process's rate limits, in memory (the default when no Redis is configured)."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable


class MemoryLimiter:
    """One process's limits: a list of attempt times per key, trimmed as it is used.

    A list, not a deque: every open stream's user has a key here, limits are small (at
    most a few hundred entries) and an empty deque already costs a 64-slot block.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, list[float]] = {}

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = []
        expired = bisect.bisect_right(hits, now - window)
        if expired:
            del hits[:expired]
        if len(hits) >= limit:
            return max(hits[0] + window - now, 0.001)
        hits.append(now)
        if len(self._hits) > 100_000:  # keep memory bounded under a flood of keys
            self._sweep(now, window)
        return None

    def _sweep(self, now: float, window: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
            del self._hits[key]
