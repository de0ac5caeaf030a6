"""The operators' dashboard: everyone's status, streams, typing and unread, live.

It reads presence and typing only through the interfaces in app/ports.py; what it needs of
the hub (stream counts) it asks the hub.
"""

from __future__ import annotations

from app.dashboard.activity import RecentMessages
from app.dashboard.rows import Row, Stored, stored, titles
from app.db import run_db
from app.models import User
from app.ports import PresenceReader, TypingReader
from app.realtime.hub import Hub
from app.realtime.kinds import FOR_STATUS
from app.tasks import Batch, TaskSet
from app.web.render import Renderer

ROW_BATCH_S = 0.5


class Dashboard:
    def __init__(self, hub: Hub, renderer: Renderer, presence: PresenceReader,
                 typing: TypingReader) -> None:
        self.hub = hub
        self.renderer = renderer
        self.presence = presence
        self.typing = typing
        self.recent = RecentMessages()
        self._tasks = TaskSet(__name__)
        self._rows = Batch(ROW_BATCH_S, self._send_rows, self._tasks)

    def message_sent(self) -> None:
        self.recent.add()

    def row_changed(self, user_id: int) -> None:
        """Operators see stream counts and typing too; bursts collapse into one row update."""
        self._rows.add(user_id)

    async def rows_for(self, users: list[User]) -> list[Row]:
        """The rows of a page of users, live figures joined with what is stored."""
        ids = [u.id for u in users]
        typing_in = {u.id: self.typing.typing_in(u.id) for u in users}
        known = await run_db(stored, ids)
        named = await run_db(titles, sorted({c for c in typing_in.values() if c is not None}))
        return [self._row(u, known, named.get(typing_in[u.id] or 0)) for u in users]

    def _row(self, user: User, known: Stored, typing_in: str | None) -> Row:
        status = self.presence.status_of(user.id) if user.show_presence else "hidden"
        seen = self.presence.last_seen_at(user.id) or known.seen.get(user.id)
        return Row(user, status, seen, self.hub.streams_of(user.id), typing_in,
                   known.unread.get(user.id, 0))

    def totals(self) -> dict[str, int]:
        return {"online": self.presence.online_count(), "streams": self.hub.open_streams(),
                "messages": self.recent.count()}

    async def _send_rows(self, user_ids: list[int]) -> None:
        users = await run_db(lambda: list(User.select().where(User.id.in_(user_ids))))
        operators = await run_db(User.operator_ids)
        if not operators or not users:
            return
        for row in await self.rows_for(users):
            status = self.presence.shown_status(row.user)
            html = await self.renderer.each_language(
                "dashboard/_event.html", kind=FOR_STATUS[status], people=[row.user], status=status,
                # The dots and status line read as contacts read them; the row keeps its own.
                seen_map={row.user.id: self.presence.shown_last_seen(row.user, row.last_seen)},
                rows=[row], totals=self.totals())
            await self.hub.publish(FOR_STATUS[status], operators, html,
                                   coalesce_key=f"row:{row.user.id}")

    async def stop(self) -> None:
        await self._tasks.cancel_all()
