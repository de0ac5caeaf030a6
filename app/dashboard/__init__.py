"""The operators' dashboard: everyone's status, streams, typing and unread, live; and charts.

It reads presence and typing only through the interfaces in app/ports.py; what it needs of
the hub (stream counts) it asks the hub. The container tells it what changed (kehai.py).
"""

from __future__ import annotations

from typing import Any

from app.config import Config
from app.dashboard.activity import LocalActivity, SharedActivity
from app.dashboard.charts import Chart, chart
from app.dashboard.listing import Listing
from app.dashboard.push import OperatorBroadcasts
from app.dashboard.rows import Row, Stored, stored, titles, users_by_id
from app.dashboard.sampler import Sampler
from app.db import run_db
from app.members import members_now
from app.metrics import Metrics
from app.models import User
from app.ports import PresenceReader, TypingReader
from app.realtime.hub import Hub
from app.tasks import Batch, TaskSet
from app.web.render import Renderer

ROW_BATCH_S = 0.5
# More changed rows than this in one batch (a room of thousands got a message, a crowd came
# online): no rows are rendered, every dashboard re-fetches the one page it shows instead.
ROW_CAP = 50
CHARTS = (("people", ("online", "away")), ("messages", ("messages",)),
          ("streams", ("streams",)), ("latency", ("p99_ms",)))


class Dashboard:
    def __init__(self, hub: Hub, renderer: Renderer, presence: PresenceReader,
                 typing: TypingReader, config: Config, metrics: Metrics,
                 redis: Any = None) -> None:
        self.hub = hub
        self.presence = presence
        self.typing = typing
        self.activity: LocalActivity | SharedActivity = (
            SharedActivity(redis, config.redis_prefix, 3 * config.dashboard_sample_s)
            if redis is not None else LocalActivity())
        self.tell = OperatorBroadcasts(hub, renderer, presence)
        self.listing = Listing()
        self.sampler = Sampler(config.dashboard_sample_s, metrics, self.figures,
                               self._push_charts)
        self._tasks = TaskSet(__name__)
        self._rows = Batch(ROW_BATCH_S, self._send_rows, self._tasks)
        self._moved: set[int] = set()  # status changed: the list's order may have too
        self._refresh = False

    # -- what changed (called by the container) --------------------------------------------

    def row_changed(self, user_id: int) -> None:
        """Something the user's row shows changed; bursts collapse into one update."""
        self._rows.add(user_id)

    def status_changed(self, user_id: int) -> None:
        """The row moves (and may enter or leave a filtered list)."""
        self._moved.add(user_id)
        self._rows.add(user_id)

    def message_sent(self, conversation_id: int, author_id: int) -> None:
        """Counted in the figures; the other members' unread backlog grew."""
        self.activity.message_sent()
        self._tasks.spawn(self._unread_grew(conversation_id, author_id))

    def messages_read(self, reader_id: int) -> None:
        self._rows.add(reader_id)

    async def _unread_grew(self, conversation_id: int, author_id: int) -> None:
        members = await members_now(conversation_id)
        if len(members) > ROW_CAP:
            self._refresh = True  # never a row per member of a big room
            self._rows.add(author_id)
            return
        for member in members - {author_id}:
            self._rows.add(member)

    # -- reading ---------------------------------------------------------------------------

    async def page(self, query: str, status: str, page: int, per_page: int
                   ) -> tuple[list[Row], int]:
        """One page of the ordered, filtered list, and how many people the list holds."""
        shown = self.presence.shown()
        recent = {uid: self.presence.last_seen_at(uid) for uid in shown}
        listed = await run_db(self.listing.ordered, query, status, shown, recent)
        chosen = listed[(page - 1) * per_page:page * per_page]
        return await self.rows_for(await run_db(users_by_id, chosen)), len(listed)

    async def rows_for(self, users: list[User]) -> list[Row]:
        """The rows of a page of users, live figures joined with what is stored."""
        ids = [u.id for u in users]
        typing_in = {u.id: self.typing.typing_in(u.id) for u in users}
        known = await run_db(stored, ids)
        named = await run_db(titles, sorted({c for c in typing_in.values() if c is not None}))
        return [self._row(u, known, named.get(typing_in[u.id] or 0)) for u in users]

    def _row(self, user: User, known: Stored, typing_in: str | None) -> Row:
        status = self.presence.status_of(user.id) if user.show_presence else "hidden"
        since = self.presence.status_since(user.id) if status in ("online", "away") else None
        seen = self.presence.last_seen_at(user.id) or known.seen.get(user.id)
        return Row(user, status, since, seen, self.hub.streams_of(user.id), typing_in,
                   known.unread.get(user.id, 0))

    async def totals(self) -> dict[str, int]:
        return {"online": self.presence.online_count(),
                "streams": await self.activity.streams(self.hub.open_streams()),
                "messages": await self.activity.messages_last_minute()}

    async def figures(self) -> dict[str, int]:
        """What a chart point holds, besides latency."""
        statuses = list(self.presence.shown().values())
        await self.activity.report_streams(self.hub.open_streams())
        totals = await self.totals()
        return {"online": statuses.count("online"), "away": statuses.count("away"),
                "messages": totals["messages"], "streams": totals["streams"]}

    def charts(self) -> list[Chart]:
        now = self.sampler.minute()
        return [chart(key, self.sampler.history, names, now) for key, names in CHARTS]

    # -- telling operators -----------------------------------------------------------------

    async def _send_rows(self, batch: list[int]) -> None:
        moved = self._moved.intersection(batch)
        self._moved -= moved
        refresh, self._refresh = self._refresh or bool(moved) or len(batch) > ROW_CAP, False
        operators = await run_db(User.operator_ids)
        if not operators:
            return
        totals = await self.totals()
        if len(batch) <= ROW_CAP:
            rows = await self.rows_for(await run_db(users_by_id, batch))
            await self.tell.rows(rows, totals, operators)
        elif moved:
            await self.tell.dots(await run_db(users_by_id, sorted(moved)), operators)
        if refresh:
            await self.tell.refresh(totals, operators)

    async def _push_charts(self) -> None:
        # Each process keeps its own hour of points: it draws them for the operators whose
        # streams it holds, so nobody gets every process's copy.
        here = [uid for uid in await run_db(User.operator_ids) if self.hub.streams_of(uid)]
        if here:
            await self.tell.charts(self.charts(), here)

    # -- life ------------------------------------------------------------------------------

    def start(self) -> None:
        self.sampler.start()

    async def stop(self) -> None:
        await self.sampler.stop()
        await self._tasks.cancel_all()
        await self.activity.stop()
