"""One task samples the dashboard's figures every few seconds into the hour's history.

Delivery latency comes from the hub's histogram (app/metrics.py): the counts at the start of
each minute are kept, so a point's p99 is that minute's deliveries only, not the process's
whole life.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from app.dashboard.charts import History, Point, p99_ms
from app.metrics import LATENCY_BUCKETS, Metrics

log = logging.getLogger(__name__)

Figures = Callable[[], Awaitable[dict[str, int]]]  # online, away, messages, streams
Sampled = Callable[[], Awaitable[None]]


class Sampler:
    def __init__(self, every_s: float, metrics: Metrics, figures: Figures, sampled: Sampled,
                 clock: Callable[[], float] = time.time) -> None:
        self.every_s = every_s
        self.metrics = metrics
        self.figures = figures
        self.sampled = sampled  # after each sample: push the charts
        self.clock = clock
        self.history = History()
        self._base: tuple[int, list[int]] | None = None  # (minute, histogram counts at its start)
        self._last: list[int] | None = None  # the histogram's counts at the previous sample
        self._task: asyncio.Task[None] | None = None

    def minute(self) -> int:
        return int(self.clock() // 60)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.sample()
                await self.sampled()
            except Exception:  # a Redis blip must not end the charts for good
                log.exception("dashboard sample failed")

    async def sample(self) -> Point:
        """Take the figures now and record them as this minute's point."""
        figures = await self.figures()
        point = Point(self.minute(), p99_ms=self._latency(), **figures)
        self.history.record(point)
        return point

    def _latency(self) -> float | None:
        minute, now = self.minute(), list(self.metrics.buckets)
        if self._base is None or self._base[0] != minute:
            # A new minute starts from the counts of the previous sample (now, at start).
            self._base = (minute, self._last if self._last is not None else now)
        self._last = now
        base = self._base[1]
        return p99_ms([n - b for n, b in zip(now, base, strict=True)], LATENCY_BUCKETS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
