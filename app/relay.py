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

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any], str], Awaitable[None]]  # (row payload, once key)


def once_key(row_id: int) -> str:
    return f"outbox:{row_id}"


async def settle(row_id: int, publish: Awaitable[None], outage: Outage) -> bool:
    """Run `publish` for an outbox row and mark the row done; False if it must wait."""
    try:
        await publish
    except PublishFailed as error:
        outage.failed(error.__cause__ or error)
        return False
    outage.ok()
    await run_db(Outbox.done, row_id)
    return True


class Relay:
    def __init__(self, handlers: dict[str, Handler], interval_s: float, grace_s: float,
                 outage: Outage, database: Outage) -> None:
        self.handlers = handlers
        self.interval_s = interval_s
        self.grace_s = grace_s  # the writing request publishes its own rows first
        self.outage = outage  # the broker
        self.database = database
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.catch_up(grace_s=0.0)  # what a crash left behind, before serving
        self._task = asyncio.get_running_loop().create_task(self._forever())

    async def catch_up(self, grace_s: float) -> int:
        """Publish every claimable row; how many went out."""
        sent = 0
        while rows := await run_db(Outbox.claim, grace_s, max(30.0, 3 * self.interval_s)):
            for n, row in enumerate(rows):
                handler = self.handlers[row.kind]
                if not await settle(row.id, handler(row.payload, once_key(row.id)), self.outage):
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
