"""Figures that count the whole deployment: messages in the last minute and open streams.

One process keeps them in memory. With Redis every process writes to the same keys, so an
operator sees the same figures whichever process serves the page: messages are a sorted set
of send times (ZCOUNT over the last minute), streams a hash of each process's latest count,
stamped so a process that died stops counting after a few samples.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any

from app.tasks import TaskSet

WINDOW_S = 60.0


class LocalActivity:
    """One process: the figures are its own."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.times: deque[float] = deque()

    def message_sent(self) -> None:
        self.times.append(self.clock())

    async def messages_last_minute(self) -> int:
        horizon = self.clock() - WINDOW_S
        while self.times and self.times[0] < horizon:
            self.times.popleft()
        return len(self.times)

    async def streams(self, here: int) -> int:
        return here

    async def report_streams(self, here: int) -> None:
        """Nobody else to tell."""

    async def stop(self) -> None:
        """Nothing runs in the background."""


class SharedActivity:
    """Several processes: the figures live in Redis."""

    def __init__(self, redis: Any, prefix: str, stale_s: float) -> None:
        self.redis = redis
        self.messages_key = f"{prefix}dashboard:messages"
        self.streams_key = f"{prefix}dashboard:streams"
        self.stale_s = stale_s  # a process silent this long is gone
        self.node = f"{os.getpid()}-{os.urandom(3).hex()}"
        self._seq = 0
        self._tasks = TaskSet(__name__)

    def message_sent(self) -> None:
        self._seq += 1
        self._tasks.spawn(self._add(f"{self.node}:{self._seq}", time.time()))

    async def _add(self, member: str, now: float) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.messages_key, {member: now})
        pipe.zremrangebyscore(self.messages_key, "-inf", now - WINDOW_S)
        pipe.expire(self.messages_key, int(WINDOW_S * 2))
        await pipe.execute()

    async def messages_last_minute(self) -> int:
        return int(await self.redis.zcount(self.messages_key, time.time() - WINDOW_S, "+inf"))

    async def report_streams(self, here: int) -> None:
        await self.redis.hset(self.streams_key, self.node, f"{here}:{time.time()}")

    async def streams(self, here: int) -> int:
        """Every live process's latest count (this one's as of now)."""
        counts = await self.redis.hgetall(self.streams_key)
        horizon = time.time() - self.stale_s
        total, gone = here, []
        for node, value in counts.items():
            count, _, stamp = str(value).partition(":")
            if str(node) == self.node:
                continue
            if float(stamp or 0) < horizon:
                gone.append(node)
            else:
                total += int(count)
        if gone:
            await self.redis.hdel(self.streams_key, *gone)
        return total

    async def stop(self) -> None:
        await self._tasks.cancel_all()
