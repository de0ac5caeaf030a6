"""Keep the UserStatus table true, writing last_seen at most once a minute per user.

Writes are gathered for a second and stored in one transaction: a thousand people connecting
at once are one write, not a thousand.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from app.db import run_db
from app.models import UserStatus
from app.ports import PresenceReader
from app.presence.tracker import OFFLINE
from app.tasks import Batch, TaskSet

WRITE_BATCH_S = 1.0


class LastSeenWriter:
    def __init__(self, presence: PresenceReader, write_every_s: float) -> None:
        self.presence = presence
        self.write_every_s = write_every_s
        self._tasks = TaskSet(__name__)
        self._written: dict[int, float] = {}
        self._pending: set[int] = set()  # a write is scheduled for later
        self._batch = Batch(WRITE_BATCH_S, self._write, self._tasks)

    def persist(self, user_id: int) -> None:
        """Record the user's status now, or once their minute is up."""
        wait = self._written.get(user_id, 0) + self.write_every_s - time.time()
        if wait <= 0:
            self._queue(user_id)
        elif user_id not in self._pending:
            self._pending.add(user_id)
            asyncio.get_running_loop().call_later(wait, self._queue, user_id)

    def _queue(self, user_id: int) -> None:
        self._pending.discard(user_id)
        self._written[user_id] = time.time()
        self._batch.add(user_id)

    async def _write(self, batch: list[int]) -> None:
        rows = [(uid, self.presence.status_of(uid) != OFFLINE, self.presence.last_seen_at(uid))
                for uid in batch]
        await run_db(_store, rows)

    async def stop(self) -> None:
        await self._tasks.cancel_all()


def _store(rows: list[tuple[int, bool, datetime | None]]) -> None:
    with UserStatus._meta.database.atomic():
        UserStatus.record(rows)
