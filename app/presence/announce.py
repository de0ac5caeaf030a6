"""Tell the right people about presence: contacts get the dot, operators also get the row."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quart import Quart

from app.db import run_db
from app.models import Membership, User, UserStatus
from app.presence.rows import Row, last_seen_of, unread_backlog
from app.presence.tracker import AWAY, OFFLINE, ONLINE, PresenceTracker
from app.realtime import kinds
from app.realtime.render import render_each_language

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)
KIND = {ONLINE: kinds.USER_ONLINE, AWAY: kinds.USER_AWAY, OFFLINE: kinds.USER_OFFLINE}
ROW_THROTTLE_S = 0.5


def _audience(user_id: int) -> tuple[User | None, list[int], list[int]]:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        return None, [], []
    operators = User.operator_ids()
    contacts = [c for c in Membership.contacts_of(user_id) if c not in operators]
    return user, contacts, operators


class Announcer:
    def __init__(self, app: Quart, kehai: Services) -> None:
        self.app = app
        self.kehai = kehai
        self.tracker: PresenceTracker | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dirty_rows: set[int] = set()
        self._flush_scheduled = False
        self._written: dict[int, float] = {}
        self._write_pending: set[int] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_change(self, user_id: int, status: str, changed: bool) -> None:
        if changed:
            self.spawn(self.announce(user_id, status))
        else:
            self.row_changed(user_id)
        self.persist(user_id)

    def row_changed(self, user_id: int) -> None:
        """Operators see stream counts and typing too; bursts collapse into one row update."""
        self._dirty_rows.add(user_id)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(ROW_THROTTLE_S, self._flush_rows)

    def _flush_rows(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty_rows = self._dirty_rows, set()
        for user_id in dirty:
            self.spawn(self._publish_row(user_id))

    async def announce(self, user_id: int, status: str) -> None:
        """Tell contacts (dot and status line) and operators (also the row) about a user."""
        try:
            user, contacts, operators = await run_db(_audience, user_id)
            if user is None:
                return
            shown = status if user.show_presence else OFFLINE
            async with self.app.app_context():
                html = await render_each_language(
                    "presence/_event.html", kind=KIND[shown], u=user, status=shown,
                    last_seen=self._seen(user_id), row=None)
            await self.kehai.hub.publish(KIND[shown], contacts, html,
                                         coalesce_key=f"presence:{user_id}")
            await self._publish_row(user_id, user, operators)
        except Exception:  # one lost announcement must never take a stream down
            log.exception("presence announcement failed for user %s", user_id)

    async def _publish_row(self, user_id: int, user: User | None = None,
                           operators: list[int] | None = None) -> None:
        try:
            if user is None or operators is None:
                user, _contacts, operators = await run_db(_audience, user_id)
            if user is None or not operators:
                return
            row = await self.row_for(user)
            async with self.app.app_context():
                html = await render_each_language(
                    "presence/_event.html", kind=KIND[self.status_for_dot(user)], u=user,
                    status=self.status_for_dot(user), last_seen=row.last_seen, row=row,
                    totals=self.totals())
            await self.kehai.hub.publish(KIND[self.status_for_dot(user)], operators, html,
                                         coalesce_key=f"row:{user_id}")
        except Exception:
            log.exception("dashboard row update failed for user %s", user_id)

    def status_for_dot(self, user: User) -> str:
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
        """Keep UserStatus true, writing last_seen at most once a minute per user."""
        wait = self._written.get(user_id, 0) + self.kehai.config.last_seen_write_s - time.time()
        if wait <= 0:
            self._written[user_id] = time.time()
            self.spawn(self._write(user_id))
        elif user_id not in self._write_pending:
            self._write_pending.add(user_id)
            asyncio.get_running_loop().call_later(wait, self._deferred_write, user_id)

    def _deferred_write(self, user_id: int) -> None:
        self._write_pending.discard(user_id)
        self._written[user_id] = time.time()
        self.spawn(self._write(user_id))

    async def _write(self, user_id: int) -> None:
        assert self.tracker is not None
        online = self.tracker.status_of(user_id) != OFFLINE
        try:
            await run_db(UserStatus.record, user_id, online, self._seen(user_id))
        except Exception:
            log.exception("could not record status of user %s", user_id)
