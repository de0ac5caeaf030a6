"""Who is online, away or offline, derived from open streams and what the tabs report.

Online while any stream is open and any tab is in use; away when every tab is hidden or idle;
offline only after a grace period once the last stream closes, so a reload or a navigation
(close, then open within the grace) shows no flap to anyone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from app.config import Config
from app.realtime.connection import Connection
from app.realtime.control import Control
from app.realtime.hub import Hub

ONLINE, AWAY, OFFLINE = "online", "away", "offline"
OnChange = Callable[[int, str, bool], None]  # (user_id, status, status_changed)


def tab_report(conns: list[Connection], tab: str, active: bool | None, session_id: str,
               n: int) -> list[Connection]:
    """Apply one tab's report to the streams it belongs to (see PresenceTracker.report)."""
    if not tab:
        for conn in conns:
            conn.active, conn.tabs = bool(active), None
        return conns
    mine = [c for c in conns if (c.session_id == session_id if session_id else c.tab == tab)]
    return [c for c in mine if c.note(tab, active, n)]


class PresenceTracker:
    def __init__(self, hub: Hub, config: Config, on_change: OnChange,
                 clock: Callable[[], float] = time.time) -> None:
        self.hub = hub
        self.config = config
        self.on_change = on_change
        self.clock = clock
        self.shown: dict[int, str] = {}  # last announced status; absent means offline
        self.last_seen: dict[int, float] = {}
        self.since: dict[int, float] = {}  # when the shown status last changed (dashboard)
        self._grace: dict[int, asyncio.TimerHandle] = {}

    def opened(self, conn: Connection, streams: int) -> None:
        timer = self._grace.pop(conn.user_id, None)
        if timer is not None:
            timer.cancel()  # back within the grace: nobody saw them leave
        self.last_seen[conn.user_id] = self.clock()
        self.refresh(conn.user_id)

    def closed(self, conn: Connection, streams: int) -> None:
        self.last_seen[conn.user_id] = self.clock()
        if streams:
            self.refresh(conn.user_id)
            return
        if self.hub.stopping:
            return  # a restart: the next process decides, and leases cover a crash
        self._grace[conn.user_id] = asyncio.get_running_loop().call_later(
            self.config.presence_grace_s, self._grace_over, conn.user_id
        )
        self.on_change(conn.user_id, self.status_of(conn.user_id), False)

    def _grace_over(self, user_id: int) -> None:
        self._grace.pop(user_id, None)
        self.refresh(user_id)

    def report(self, user_id: int, tab: str, active: bool | None, session_id: str = "",
               n: int = 0) -> list[Connection]:
        """A tab says it is in use (visible, input), not (hidden, idle) or gone (None, closed).

        The tabs of one browser share its session's stream, so the report goes to the
        session's streams, as one tab among theirs; without a tab it applies to them all.
        Returns the streams whose state it changed."""
        self.last_seen[user_id] = self.clock()
        touched = tab_report(self.hub.connections_of(user_id), tab, active, session_id, n)
        self.refresh(user_id)
        return touched

    def compute(self, user_id: int) -> str:
        conns = self.hub.connections_of(user_id)
        if not conns:
            return self.shown.get(user_id, OFFLINE) if user_id in self._grace else OFFLINE
        return ONLINE if any(c.active for c in conns) else AWAY

    def refresh(self, user_id: int) -> None:
        status = self.compute(user_id)
        changed = status != self.shown.get(user_id, OFFLINE)
        self._remember(user_id, status)
        self.on_change(user_id, status, changed)

    def _remember(self, user_id: int, status: str) -> None:
        if status != self.shown.get(user_id, OFFLINE):
            self.since[user_id] = self.clock()
        if status == OFFLINE:
            self.shown.pop(user_id, None)
        else:
            self.shown[user_id] = status

    def status_of(self, user_id: int) -> str:
        return self.shown.get(user_id, OFFLINE)

    def control(self, message: Control) -> None:
        """One process keeps no state elsewhere: nothing to hear."""

    async def start(self) -> None:
        """Nothing to start for one process."""

    async def stop(self) -> None:
        """Nothing to stop for one process."""
