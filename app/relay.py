"""The outbox relay: publish whatever was committed but not yet published.

Every message and read mark writes an outbox row in its own transaction (models/outbox.py).
The request that wrote it publishes it at once and marks it done; if the process died in
between, or the broker was down, the row stays, and the relay of any process claims it
(safely, when several run) and publishes it — at start-up and then continuously. Each
publish carries the row's once key, so a row published twice (died after publishing, before
marking) reaches streams once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.db import run_db
from app.logs import OutageLog as Outage
from app.models import Outbox
from app.outages import DATABASE_DOWN
from app.realtime.hub import PublishFailed
from app.tasks import Batch, TaskSet

log = logging.getLogger(__name__)
MARK_BATCH_S = 0.02  # well inside outbox_grace_s: the relay leaves a row alone that long
Handler = Callable[[dict[str, Any], str], Awaitable[None]]  # (row payload, once key)


def once_key(row_id: int) -> str:
    return f"outbox:{row_id}"


class Settle:
    """Run an outbox row's publish and mark the row done; False if it must wait.

    The marks of rows settled within MARK_BATCH_S go to the database in one statement, after
    the response (bench/rooms.py: one write and one thread-pool hop per message that the
    sender waited for). A mark that never lands (the process died, the database failed) only
    lets the relay publish the row again after `outbox_grace_s`, and its once key keeps
    that from reaching any stream twice."""

    def __init__(self, outage: Outage, database: Outage, delay_s: float = MARK_BATCH_S
                 ) -> None:
        self.outage = outage  # the broker
        self.database = database
        self._tasks = TaskSet(__name__)
        self._marks = Batch(delay_s, self._mark, self._tasks)

    async def __call__(self, row_id: int, publish: Awaitable[None]) -> bool:
        try:
            await publish
        except PublishFailed as error:
            self.outage.failed(error.__cause__ or error)
            return False
        self.outage.ok()
        self._marks.add(row_id)
        return True

    async def _mark(self, row_ids: list[int]) -> None:
        try:
            await run_db(Outbox.done, row_ids)
        except DATABASE_DOWN as error:  # the relay publishes them again, once per stream
            self.database.failed(error)

    async def flush(self) -> None:
        """Write the marks still waiting (shutdown, and tests that read the outbox)."""
        await self._marks.flush_now()
        await self._tasks.drain()


class Relay:
    def __init__(self, handlers: dict[str, Handler], interval_s: float, grace_s: float,
                 settle: Settle) -> None:
        self.handlers = handlers
        self.interval_s = interval_s
        self.grace_s = grace_s  # the writing request publishes its own rows first
        self.settle = settle
        self.database = settle.database
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.catch_up(grace_s=0.0)  # what a crash left behind, before serving
        self._task = asyncio.get_running_loop().create_task(self._forever())

    async def catch_up(self, grace_s: float) -> int:
        """Publish every claimable row; how many went out."""
        await self.settle.flush()  # what this process published is not this round's to claim
        sent = 0
        while rows := await run_db(Outbox.claim, grace_s, max(30.0, 3 * self.interval_s)):
            for n, row in enumerate(rows):
                handler = self.handlers[row.kind]
                if not await self.settle(row.id, handler(row.payload, once_key(row.id))):
                    # The broker is away: hand the rest back, and try again next round.
                    await run_db(Outbox.release, [r.id for r in rows[n:]])
                    return sent
                sent += 1
        return sent

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.catch_up(self.grace_s)
            except DATABASE_DOWN as error:  # the next round tries again
                self.database.failed(error)
            except Exception:
                log.exception("outbox relay round failed")
            else:
                self.database.ok()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.settle.flush()
