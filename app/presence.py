"""Presence from open streams: online while any stream is open, offline after a grace period.

A reload closes one stream and opens another within the grace, so others never see a flap.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from quart import Quart

from app.db import run_db
from app.models import Membership, User, UserStatus
from app.models.base import utcnow
from app.realtime import kinds
from app.realtime.connection import Connection

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)
ONLINE, AWAY, OFFLINE = "online", "away", "offline"
_KIND = {ONLINE: kinds.USER_ONLINE, AWAY: kinds.USER_AWAY, OFFLINE: kinds.USER_OFFLINE}


class Presence:
    def __init__(self, app: Quart, kehai: Services) -> None:
        self.app = app
        self.kehai = kehai
        self.status: dict[int, str] = {}
        self._offline_timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def on_open(self, conn: Connection, streams: int) -> None:
        timer = self._offline_timers.pop(conn.user_id, None)
        if timer is not None:
            timer.cancel()  # came back within the grace: nobody saw them leave
        if self.status.get(conn.user_id, OFFLINE) == OFFLINE:
            self._set(conn.user_id, ONLINE)

    def on_close(self, conn: Connection, streams: int) -> None:
        if streams or self.kehai.hub.stopping:
            return
        loop = asyncio.get_running_loop()
        self._offline_timers[conn.user_id] = loop.call_later(
            self.kehai.config.presence_grace_s, self._grace_over, conn.user_id
        )

    def _grace_over(self, user_id: int) -> None:
        self._offline_timers.pop(user_id, None)
        if not self.kehai.hub.streams_of(user_id):
            self._set(user_id, OFFLINE)

    def _set(self, user_id: int, status: str) -> None:
        self.status[user_id] = status
        if status == OFFLINE:
            self.status.pop(user_id, None)
        task = asyncio.get_running_loop().create_task(self._announce(user_id, status))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self, user_id: int, status: str) -> None:
        try:
            user, recipients = await run_db(_audience, user_id, status)
            if user is None:
                return
            shown = status if user.show_presence else OFFLINE
            async with self.app.app_context():
                html = await _render_dot(user.username, shown)
            await self.kehai.hub.publish(_KIND[shown], recipients, html,
                                         coalesce_key=f"presence:{user_id}")
        except Exception:  # a lost announcement must not take the stream down with it
            log.exception("presence announcement failed for user %s", user_id)

    def of(self, user: User) -> str:
        if not user.show_presence:
            return OFFLINE
        return self.status.get(user.id, OFFLINE)


def _audience(user_id: int, status: str) -> tuple[User | None, list[int]]:
    user = User.get_or_none(User.id == user_id)
    UserStatus.record(user_id, status != OFFLINE, utcnow())
    if user is None:
        return None, []
    return user, [*Membership.contacts_of(user_id), *User.operator_ids()]


async def _render_dot(username: str, status: str) -> dict[str, str]:
    from app.realtime.render import render_each_language

    return await render_each_language(
        "presence/_dot_event.html", kind=_KIND[status], username=username, status=status
    )


async def statuses_for(users: list[User]) -> dict[str, str]:
    """username -> status, as the signed-in viewer may see it."""
    from app.services import services

    presence: Presence = services().extras["presence"]
    return {u.username: presence.of(u) for u in users if u is not None}


def install(app: Quart, kehai: Services) -> None:
    presence = Presence(app, kehai)
    kehai.extras["presence"] = presence
    kehai.hub.on_open.append(presence.on_open)
    kehai.hub.on_close.append(presence.on_close)

    async def clear_stale() -> None:
        # Nobody is connected to a process that just started: forget a crash's leftovers.
        await run_db(UserStatus.clear_all)

    kehai.extras.setdefault("start_hooks", []).append(clear_stale)
