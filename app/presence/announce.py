"""Tell the right people about presence, in batches: contacts get dots, operators get rows.

Changes are collected for a moment and sent together, grouped by what each recipient may
see: a thousand people coming online in one big room is one event to each member, not a
thousand.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quart import Quart

from app.db import run_db
from app.models import User, UserStatus
from app.presence.audience import batch_audience, group_by_view
from app.presence.rows import Row, last_seen_of, unread_backlog
from app.presence.tracker import AWAY, OFFLINE, ONLINE, PresenceTracker
from app.realtime import kinds
from app.realtime.render import render_each_language

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)
KIND = {ONLINE: kinds.USER_ONLINE, AWAY: kinds.USER_AWAY, OFFLINE: kinds.USER_OFFLINE}
STATUS_BATCH_S = 0.3
ROW_BATCH_S = 0.5
WRITE_BATCH_S = 1.0


class Announcer:
    def __init__(self, app: Quart, kehai: Services) -> None:
        self.app = app
        self.kehai = kehai
        self.tracker: PresenceTracker | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._statuses: set[int] = set()
        self._rows: set[int] = set()
        self._status_flush = False
        self._row_flush = False
        self._written: dict[int, float] = {}
        self._write_pending: set[int] = set()
        self._to_write: set[int] = set()
        self._write_flush = False

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_change(self, user_id: int, status: str, changed: bool) -> None:
        if changed:
            self.announce(user_id)
        self.row_changed(user_id)
        self.persist(user_id)

    def announce(self, user_id: int) -> None:
        """Queue a user's current status for their contacts (sent within STATUS_BATCH_S)."""
        self._statuses.add(user_id)
        if not self._status_flush:
            self._status_flush = True
            asyncio.get_running_loop().call_later(STATUS_BATCH_S, self._flush_statuses)

    def row_changed(self, user_id: int) -> None:
        """Operators see stream counts and typing too; bursts collapse into one row update."""
        self._rows.add(user_id)
        if not self._row_flush:
            self._row_flush = True
            asyncio.get_running_loop().call_later(ROW_BATCH_S, self._flush_rows)

    def _flush_statuses(self) -> None:
        self._status_flush = False
        batch, self._statuses = self._statuses, set()
        self.spawn(self._send_statuses(sorted(batch)))

    def _flush_rows(self) -> None:
        self._row_flush = False
        batch, self._rows = self._rows, set()
        self.spawn(self._send_rows(sorted(batch)))

    async def _send_statuses(self, changed: list[int]) -> None:
        try:
            users, visible, operators = await run_db(batch_audience, changed)
            for seen, recipients in group_by_view(visible, set(operators)).items():
                by_status: dict[str, list[User]] = defaultdict(list)
                for uid in sorted(seen):
                    if uid in users:
                        by_status[self.shown_status(users[uid])].append(users[uid])
                for status, people in by_status.items():
                    await self._publish(status, people, recipients)
        except Exception:  # one lost announcement must never take a stream down
            log.exception("presence announcement failed for %s users", len(changed))

    async def _publish(self, status: str, people: list[User], recipients: list[int]) -> None:
        async with self.app.app_context():
            html = await render_each_language(
                "presence/_event.html", kind=KIND[status], people=people, status=status,
                seen_map={u.id: self._seen(u.id) for u in people}, rows=None)
        key = f"presence:{people[0].id}" if len(people) == 1 else None
        await self.kehai.hub.publish(KIND[status], recipients, html, coalesce_key=key)

    async def _send_rows(self, user_ids: list[int]) -> None:
        try:
            users = await run_db(lambda: list(User.select().where(User.id.in_(user_ids))))
            operators = await run_db(User.operator_ids)
            if not operators or not users:
                return
            unread = await run_db(unread_backlog, user_ids)
            seen = await run_db(last_seen_of, user_ids)
            for user in users:
                row = await self.row_for(user, unread.get(user.id, 0), seen.get(user.id))
                status = self.shown_status(user)
                async with self.app.app_context():
                    html = await render_each_language(
                        "presence/_event.html", kind=KIND[status], people=[user],
                        status=status, seen_map={user.id: row.last_seen}, rows=[row],
                        totals=self.totals())
                await self.kehai.hub.publish(KIND[status], operators, html,
                                             coalesce_key=f"row:{user.id}")
        except Exception:
            log.exception("dashboard row update failed")

    def shown_status(self, user: User) -> str:
        """What others may see: hidden users look offline."""
        assert self.tracker is not None
        return self.tracker.status_of(user.id) if user.show_presence else OFFLINE

    async def row_for(self, user: User, unread: int | None = None,
                      stored_seen: datetime | None = None) -> Row:
        assert self.tracker is not None
        if unread is None:
            unread = (await run_db(unread_backlog, [user.id])).get(user.id, 0)
            stored_seen = (await run_db(last_seen_of, [user.id])).get(user.id)
        status = self.tracker.status_of(user.id) if user.show_presence else "hidden"
        typing = self.kehai.extras.get("typing")
        return Row(user, status, self._seen(user.id) or stored_seen,
                   self.kehai.hub.streams_of(user.id),
                   typing.typing_in(user.id) if typing else None, unread)

    def totals(self) -> dict[str, int]:
        assert self.tracker is not None
        recent = self.kehai.extras.get("recent_messages")
        return {
            "online": self.tracker.online_count(),
            "streams": sum(len(c) for c in self.kehai.hub.by_user.values()),
            "messages": recent.count() if recent else 0,
        }

    def _seen(self, user_id: int) -> datetime | None:
        assert self.tracker is not None
        ts = self.tracker.last_seen.get(user_id)
        return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None) if ts else None

    def persist(self, user_id: int) -> None:
        """Keep UserStatus true, writing last_seen at most once a minute per user.

        Writes are gathered for a second and stored in one transaction: a thousand people
        connecting at once are one write, not a thousand.
        """
        wait = self._written.get(user_id, 0) + self.kehai.config.last_seen_write_s - time.time()
        if wait <= 0:
            self._queue_write(user_id)
        elif user_id not in self._write_pending:
            self._write_pending.add(user_id)
            asyncio.get_running_loop().call_later(wait, self._queue_write, user_id)

    def _queue_write(self, user_id: int) -> None:
        self._write_pending.discard(user_id)
        self._written[user_id] = time.time()
        self._to_write.add(user_id)
        if not self._write_flush:
            self._write_flush = True
            asyncio.get_running_loop().call_later(WRITE_BATCH_S, self._flush_writes)

    def _flush_writes(self) -> None:
        self._write_flush = False
        batch, self._to_write = self._to_write, set()
        assert self.tracker is not None
        rows = [(uid, self.tracker.status_of(uid) != OFFLINE, self._seen(uid)) for uid in batch]
        self.spawn(self._write(rows))

    async def _write(self, rows: list[tuple[int, bool, datetime | None]]) -> None:
        try:
            await run_db(_store_statuses, rows)
        except Exception:
            log.exception("could not record the status of %s users", len(rows))


def _store_statuses(rows: list[tuple[int, bool, datetime | None]]) -> None:
    with UserStatus._meta.database.atomic():
        for user_id, online, seen in rows:
            UserStatus.record(user_id, online, seen)


__all__ = ["AWAY", "KIND", "Announcer"]
