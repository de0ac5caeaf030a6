"""Presence: who is there, told only to the people who share a conversation (and operators).

`Presence` is the capability's face: the tracker that decides statuses (one process, or
leases in Redis), the announcer that tells contacts, and the writer that keeps last-seen.
Everything else reads statuses through it, so "hidden users look offline" is decided here
once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.config import Config
from app.db import run_db
from app.models import User, UserStatus
from app.presence.announce import StatusAnnouncer
from app.presence.last_seen import LastSeenWriter
from app.presence.tracker import AWAY, OFFLINE, ONLINE, OnChange, PresenceTracker
from app.realtime.hub import Hub
from app.web.render import Renderer

__all__ = ["AWAY", "OFFLINE", "ONLINE", "Presence"]


class Presence:
    def __init__(self, hub: Hub, config: Config, renderer: Renderer, on_change: OnChange,
                 redis: Any = None) -> None:
        self.tracker: PresenceTracker
        if redis is not None:
            from app.presence.redis_tracker import RedisPresenceTracker

            self.tracker = RedisPresenceTracker(hub, config, on_change, redis)
        else:
            self.tracker = PresenceTracker(hub, config, on_change)
        self.shared = redis is not None
        self.announcer = StatusAnnouncer(hub, renderer, self)
        self.writer = LastSeenWriter(self, config.last_seen_write_s)

    # -- reading (the PresenceReader interface) ---------------------------------------------

    def status_of(self, user_id: int) -> str:
        return self.tracker.status_of(user_id)

    def shows(self, user: User) -> bool:
        """Whether others may see anything of the user's presence ("Show my online status")."""
        return bool(user.show_presence)

    def shown_status(self, user: User) -> str:
        """What others may see: hidden users look offline."""
        return self.tracker.status_of(user.id) if self.shows(user) else OFFLINE

    def shown_last_seen(self, user: User, stored: datetime | None = None) -> datetime | None:
        """When others may read the user was last here (this process's figure, else
        `stored`): never for a hidden user, whose "last seen" would time their activity."""
        if not self.shows(user):
            return None
        return self.last_seen_at(user.id) or stored

    def statuses_for(self, users: list[User | None]) -> dict[str, str]:
        """username -> status as any viewer may see it."""
        return {u.username: self.shown_status(u) for u in users if u is not None}

    def last_seen_at(self, user_id: int) -> datetime | None:
        ts = self.tracker.last_seen.get(user_id)
        return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None) if ts else None

    def status_since(self, user_id: int) -> datetime | None:
        ts = self.tracker.since.get(user_id)
        return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None) if ts else None

    def online_count(self) -> int:
        return sum(1 for status in self.tracker.shown.values() if status == ONLINE)

    def shown(self) -> dict[int, str]:
        return dict(self.tracker.shown)

    # -- telling --------------------------------------------------------------------------

    def announce(self, user_id: int) -> None:
        """Tell the user's contacts their current status (nothing, if they are hidden)."""
        self.announcer.announce(user_id)

    def setting_changed(self, user_id: int) -> None:
        """The user hid or showed their status: contacts are told once, either way."""
        self.announcer.announce(user_id, setting=True)

    def persist(self, user_id: int) -> None:
        self.writer.persist(user_id)

    async def start(self) -> None:
        await self.tracker.start()
        if not self.shared:
            # Nobody is connected to a process that just started: forget a crash's leftovers.
            # (With Redis, leases decide: other processes may be up.)
            await run_db(UserStatus.clear_all)

    async def stop(self) -> None:
        await self.tracker.stop()
        await self.announcer.stop()
        await self.writer.stop()
