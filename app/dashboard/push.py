"""What operators' streams are sent: rows, dots, "re-fetch your table", and the charts.

Operators are left out of the contacts' presence events (presence/announce.py), so the
dashboard's events carry the dots their other pages show too.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from app.dashboard.rows import Row
from app.models import User
from app.ports import PresenceReader
from app.realtime.hub import Hub
from app.realtime.kinds import DASHBOARD, FOR_STATUS
from app.web.render import Renderer


class OperatorBroadcasts:
    def __init__(self, hub: Hub, renderer: Renderer, presence: PresenceReader) -> None:
        self.hub = hub
        self.renderer = renderer
        self.presence = presence

    async def rows(self, rows: list[Row], totals: dict[str, int], operators: list[int]) -> None:
        """One event per row, keyed by its user: a slow stream keeps only the newest."""
        for row in rows:
            status = self.presence.shown_status(row.user)
            html = await self.renderer.each_language(
                "dashboard/_event.html", kind=FOR_STATUS[status], people=[row.user],
                status=status,
                # The dots and status line read as contacts read them; the row keeps its own.
                seen_map={row.user.id: self.presence.shown_last_seen(row.user, row.last_seen)},
                rows=[row], totals=totals)
            await self.hub.publish(FOR_STATUS[status], operators, html,
                                   coalesce_key=f"row:{row.user.id}")

    async def dots(self, users: list[User], operators: list[int]) -> None:
        """Many changes at once: the dots by status, no rows (the table is re-fetched)."""
        by_status: dict[str, list[User]] = defaultdict(list)
        for user in users:
            by_status[self.presence.shown_status(user)].append(user)
        for status, people in by_status.items():
            html = await self.renderer.each_language(
                "presence/_event.html", kind=FOR_STATUS[status], people=people, status=status,
                seen_map={u.id: self.presence.shown_last_seen(u) for u in people})
            await self.hub.publish(FOR_STATUS[status], operators, html)

    async def refresh(self, totals: dict[str, int], operators: list[int]) -> None:
        """The order or the membership of the list changed: each dashboard re-fetches the
        page it shows (its own search, filter and page), so the event is the same for all."""
        html = await self.renderer.each_language("dashboard/_refresh_event.html",
                                                 kind=DASHBOARD, totals=totals)
        await self.hub.publish(DASHBOARD, operators, html, coalesce_key="dashboard:refresh")

    async def charts(self, charts: list[Any], operators: list[int]) -> None:
        html = await self.renderer.each_language("dashboard/_charts_event.html",
                                                 kind=DASHBOARD, charts=charts)
        await self.hub.publish(DASHBOARD, operators, html, coalesce_key="dashboard:charts")
