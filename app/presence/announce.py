"""Tell contacts about presence, in batches: one event per group of people who see the same.

Changes are collected for a moment and sent together, grouped by what each recipient may
see: a thousand people coming online in one big room is one event to each member, not a
thousand. Operators are left out here: their dashboard rows carry the dots too.
"""

from __future__ import annotations

from collections import defaultdict

from app.db import run_db
from app.models import User
from app.ports import PresenceReader
from app.presence.audience import batch_audience, group_by_view
from app.realtime.hub import Hub
from app.realtime.kinds import FOR_STATUS
from app.tasks import Batch, TaskSet
from app.web.render import Renderer

STATUS_BATCH_S = 0.3


class StatusAnnouncer:
    def __init__(self, hub: Hub, renderer: Renderer, presence: PresenceReader) -> None:
        self.hub = hub
        self.renderer = renderer
        self.presence = presence
        self._tasks = TaskSet(__name__)
        self._batch = Batch(STATUS_BATCH_S, self._send, self._tasks)
        self._setting_changed: set[int] = set()

    def announce(self, user_id: int, setting: bool = False) -> None:
        """Queue a user's current status for their contacts (sent within STATUS_BATCH_S).

        A hidden user's activity is announced to nobody, not even as "offline": an event at
        each connect, away or leave would time it. Only the setting changing is (`setting`)."""
        if setting:
            self._setting_changed.add(user_id)
        self._batch.add(user_id)

    async def _send(self, changed: list[int]) -> None:
        # Taken before the first await: a change arriving later belongs to the next batch.
        forced, self._setting_changed = self._setting_changed, set()
        users, visible, operators = await run_db(batch_audience, changed)
        told = {uid: u for uid, u in users.items() if uid in forced or self.presence.shows(u)}
        for seen, recipients in group_by_view(visible, set(operators)).items():
            by_status: dict[str, list[User]] = defaultdict(list)
            for uid in sorted(seen):
                if uid in told:
                    by_status[self.presence.shown_status(told[uid])].append(told[uid])
            for status, people in by_status.items():
                await self._publish(status, people, recipients)

    async def _publish(self, status: str, people: list[User], recipients: list[int]) -> None:
        html = await self.renderer.each_language(
            "presence/_event.html", kind=FOR_STATUS[status], people=people, status=status,
            seen_map={u.id: self.presence.shown_last_seen(u) for u in people})
        key = f"presence:{people[0].id}" if len(people) == 1 else None
        await self.hub.publish(FOR_STATUS[status], recipients, html, coalesce_key=key)

    async def stop(self) -> None:
        await self._tasks.cancel_all()
