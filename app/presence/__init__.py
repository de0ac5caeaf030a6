"""Presence: who is there, told only to the people who share a conversation (and operators)."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from quart import Quart

from app.db import run_db
from app.models import User, UserStatus
from app.presence.announce import Announcer
from app.presence.tracker import AWAY, OFFLINE, ONLINE, PresenceTracker

if TYPE_CHECKING:
    from app.services import Services

__all__ = ["AWAY", "OFFLINE", "ONLINE", "install", "statuses_for"]


class RecentMessages:
    """Messages sent through this process in the last minute, for the dashboard totals."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def add(self) -> None:
        self.times.append(time.monotonic())

    def count(self) -> int:
        horizon = time.monotonic() - 60
        while self.times and self.times[0] < horizon:
            self.times.popleft()
        return len(self.times)


async def statuses_for(users: list[User | None]) -> dict[str, str]:
    """username -> status as any viewer may see it (hidden users look offline)."""
    from app.services import services

    tracker: PresenceTracker = services().extras["presence"]
    return {u.username: (tracker.status_of(u.id) if u.show_presence else OFFLINE)
            for u in users if u is not None}


def install(app: Quart, kehai: Services) -> None:
    announcer = Announcer(app, kehai)
    tracker: PresenceTracker
    if kehai.config.redis_url:
        from app.presence.redis_tracker import RedisPresenceTracker

        tracker = RedisPresenceTracker(kehai.hub, kehai.config, announcer.on_change,
                                       kehai.hub.broker.redis)
        kehai.extras.setdefault("start_hooks", []).append(tracker.start)
        kehai.extras.setdefault("stop_hooks", []).append(tracker.stop)
    else:
        tracker = PresenceTracker(kehai.hub, kehai.config, announcer.on_change)
    announcer.tracker = tracker
    kehai.extras["presence"] = tracker
    kehai.extras["announcer"] = announcer
    kehai.extras["recent_messages"] = RecentMessages()
    kehai.hub.on_open.append(tracker.on_open)
    kehai.hub.on_close.append(tracker.on_close)

    async def clear_stale() -> None:
        # Nobody is connected to a process that just started: forget a crash's leftovers.
        await run_db(UserStatus.clear_all)

    if not kehai.config.redis_url:  # with Redis, leases decide (other processes may be up)
        kehai.extras.setdefault("start_hooks", []).append(clear_stale)
