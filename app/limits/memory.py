"""One process's rate limits, in memory (the default when no Redis is configured)."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

SWEEP_S = 60.0  # how often keys whose attempts have all expired are forgotten


class MemoryLimiter:
    """One process's limits: a list of attempt times per key, trimmed as it is used.

    A list, not a deque: every open stream's user has a key here, limits are small (at
    most a few hundred entries) and an empty deque already costs a 64-slot block.
    Keys are grouped by their rule's window (a handful of windows in all), so a regular
    sweep knows exactly when each key has expired: a key touched once and never again is
    forgotten within a window plus SWEEP_S, not kept until some size threshold.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_window: dict[float, dict[str, list[float]]] = {}
        self._next_sweep = clock() + SWEEP_S

    def _trimmed(self, key: str, window: float, now: float) -> list[float]:
        keys = self._by_window.setdefault(window, {})
        hits = keys.get(key)
        if hits is None:
            hits = keys[key] = []
        expired = bisect.bisect_right(hits, now - window)
        if expired:
            del hits[:expired]
        return hits

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self._trimmed(key, window, now)
        if len(hits) >= limit:
            return max(hits[0] + window - now, 0.001)
        hits.append(now)
        return None

    async def peek(self, key: str, limit: int, window: float) -> float | None:
        now = self._clock()
        hits = self._by_window.get(window, {}).get(key)
        if not hits:
            return None
        live = hits[bisect.bisect_right(hits, now - window):]
        return max(live[0] + window - now, 0.001) if len(live) >= limit else None

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._by_window.values())

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_S
        for window, keys in self._by_window.items():
            for key in [k for k, v in keys.items() if not v or v[-1] <= now - window]:
                del keys[key]
