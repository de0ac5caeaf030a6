"""Background tasks that stay referenced until they finish and never fail unseen.

asyncio keeps only a weak reference to a task: one nobody holds may be collected mid-flight,
and one that raises is reported as "Task exception was never retrieved" long after the fact.
Every fire-and-forget task in Kehai goes through a TaskSet, which holds it and logs its error
once, with the name of the work that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any


class TaskSet:
    def __init__(self, name: str) -> None:
        self.log = logging.getLogger(name)
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` in the background, holding it until it is done."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("background task failed", exc_info=task.exception())

    async def cancel_all(self) -> None:
        """Stop whatever is still running (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await self.drain()

    async def drain(self) -> None:
        """Wait for what is running now to finish (its errors are logged as usual)."""
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def __len__(self) -> int:
        return len(self._tasks)


class Batch:
    """Collect ids for `delay_s`, then hand them, sorted, to `flush` in one background task.

    Bursts are the normal case (a thousand people connecting at once, a typing storm): one
    render or one write per batch instead of one per change."""

    def __init__(self, delay_s: float, flush: Callable[[list[int]], Coroutine[Any, Any, Any]],
                 tasks: TaskSet) -> None:
        self.delay_s = delay_s
        self.flush = flush
        self.tasks = tasks
        self._ids: set[int] = set()
        self._due: asyncio.TimerHandle | None = None

    def add(self, item: int) -> None:
        self._ids.add(item)
        if self._due is None:
            self._due = asyncio.get_running_loop().call_later(self.delay_s, self._go)

    def _take(self) -> list[int]:
        if self._due is not None:
            self._due.cancel()
            self._due = None
        batch, self._ids = sorted(self._ids), set()
        return batch

    def _go(self) -> None:
        self.tasks.spawn(self.flush(self._take()))

    async def flush_now(self) -> None:
        """Hand over what is waiting at once (shutdown: nothing is left behind)."""
        if self._ids:
            await self.flush(self._take())
