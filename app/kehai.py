"""The application container: every live object of one process, and who hears what.

Built once by create_app. Capabilities never look each other up: each gets what it needs
here, in its constructor, and the few things that cross capabilities (a status change, a
sent message, a stream opening) are the methods below, so the whole wiring reads in one
place.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from quart import Quart, current_app

from app.config import Config
from app.dashboard import Dashboard
from app.db import run_db
from app.groups import Groups
from app.limits import Limits
from app.logs import OutageLog as Outage
from app.messages import Messages
from app.messages.edits import CHANGED
from app.metrics import Metrics
from app.models import Session
from app.models.outbox import NEW_MESSAGE
from app.models.session import Lifetime
from app.outages import DATABASE_DOWN
from app.presence import Presence
from app.presence.audience import SHOWN_MEMBERS
from app.realtime.connection import Connection
from app.realtime.control import Control
from app.realtime.hub import Hub
from app.receipts import Receipts
from app.relay import Relay, Settle
from app.tasks import TaskSet
from app.telemetry import declare, registry
from app.typists import Typing
from app.web.render import Renderer

log = logging.getLogger(__name__)


def _backends(config: Config) -> tuple[Any, Any, Any]:
    """(Redis client or None, broker, limiter), chosen by configuration; Redis code is
    imported only when used."""
    if not config.redis_url:
        from app.limits.memory import MemoryLimiter
        from app.realtime.memory_broker import MemoryBroker

        return None, MemoryBroker(config), MemoryLimiter()
    from app.limits.redis import RedisLimiter
    from app.realtime.redis_broker import RedisBroker, connect

    redis = connect(config.redis_url)
    return redis, RedisBroker(config, redis), RedisLimiter(redis, config.redis_prefix)


class Kehai:
    def __init__(self, config: Config, renderer: Renderer) -> None:
        self.config = config
        self.metrics = Metrics()
        self.redis, broker, limiter = _backends(config)
        declare(self.metrics, lambda: getattr(broker, "reconnects", 0))
        self.limits = Limits(limiter)
        self.hub = Hub(broker, config, self.metrics)
        self.presence = Presence(self.hub, config, renderer, self.presence_changed, self.redis)
        self.typing = Typing(self.hub, renderer, config.typing_expiry_s,
                             shared=self.redis is not None, on_change=self.typing_changed)
        self.dashboard = Dashboard(self.hub, renderer, self.presence, self.typing, config,
                                   self.metrics, self.redis)
        outage = Outage(logging.getLogger("kehai.relay"),
                        "the broker for messages and read marks (they wait in the outbox)")
        self.database = Outage(logging.getLogger("kehai.db"), "the database")
        settle = Settle(outage, self.database)
        self.messages = Messages(self.hub, renderer, self.typing_ended, self.message_sent,
                                 settle)
        self.receipts = Receipts(self.hub, renderer, settle, self.messages_read)
        self.groups = Groups(self.hub, renderer, settle, self.presence.statuses_for,
                             SHOWN_MEMBERS, self.messages.republish)
        # What was committed but not published (a crash, a broker outage) goes out from here.
        self.relay = Relay({NEW_MESSAGE: self.messages.republish,
                            CHANGED: self.messages.republish_change,
                            "message-read": self.receipts.republish, **self.groups.handlers},
                           config.outbox_relay_s, config.outbox_grace_s, settle)
        self.hub.listener = self
        self._tasks = TaskSet(__name__)
        self.registry = registry(self.metrics)  # what /metrics serves

    # -- what crosses capabilities ----------------------------------------------------------

    def presence_changed(self, user_id: int, status: str, changed: bool) -> None:
        if changed:
            self.presence.announce(user_id)
            self.dashboard.status_changed(user_id)
        else:
            self.dashboard.row_changed(user_id)
        self.presence.persist(user_id)

    def presence_setting_changed(self, user_id: int) -> None:
        self.presence.setting_changed(user_id)
        self.dashboard.status_changed(user_id)  # shown as hidden (or not): the row moves

    def typing_changed(self, user_id: int) -> None:
        self.dashboard.row_changed(user_id)

    async def typing_ended(self, conversation_id: int, author_id: int, session_id: str,
                           typing_seq: int) -> None:
        """A message is about to go out: its author's indicator ends first, never after."""
        await self.typing.message_sent(conversation_id, author_id, session_id, typing_seq)

    def message_sent(self, conversation_id: int, author_id: int, created: bool) -> None:
        if created:
            self.dashboard.message_sent(conversation_id, author_id)  # figures, unread rows

    async def name_changed(self, user_id: int, outbox_rows: list[int]) -> None:
        """A display name changed: every name of that person on screen, and their operators'
        row."""
        await self.groups.publish(outbox_rows)
        self.dashboard.row_changed(user_id)

    def messages_read(self, reader_id: int) -> None:
        self.dashboard.messages_read(reader_id)  # the reader's unread backlog shrank

    # -- the hub's listener ---------------------------------------------------------------

    def opened(self, conn: Connection, streams: int) -> None:
        self.presence.tracker.opened(conn, streams)

    def closed(self, conn: Connection, streams: int) -> None:
        self.presence.tracker.closed(conn, streams)
        self.typing.closed(conn, streams)

    def control(self, message: Control) -> None:
        self.presence.tracker.control(message)
        self.typing.control(message)

    # -- life -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.hub.start()
        await self.presence.start()
        await self.relay.start()
        self._tasks.spawn(self._watch_sessions())
        self.dashboard.start()

    async def _watch_sessions(self) -> None:
        """Every session_check_s, end the streams of sessions that are gone or expired.

        Logout and password changes end their streams at once; a session deleted in the
        database directly (an administrator, another tool) or expired would otherwise keep
        its stream for the whole stream lifetime. One query per interval for all of this
        process's streams; realtime itself never touches the database.
        """
        config = self.config
        lifetime = Lifetime(config.session_idle_s, config.session_max_s)
        while True:
            await asyncio.sleep(config.session_check_s)
            open_ids = sorted({conn.session_id for conn in self.hub.connections()})
            if not open_ids:
                continue
            try:
                live = await run_db(Session.live_among, open_ids, lifetime)
                gone = [sid for sid in open_ids if sid not in live]
                if gone:
                    await self.hub.end_sessions(gone)
            except DATABASE_DOWN as error:  # once per outage; the next round tries again
                self.database.failed(error)
            except Exception as error:  # the broker away: try again next time
                log.warning("session check skipped: %s", error)

    async def stop(self) -> None:
        await self._tasks.cancel_all()
        self.hub.shutdown()
        await self.relay.stop()
        await self.presence.stop()
        await self.typing.stop_all()
        await self.dashboard.stop()
        await self.hub.stop()
        if self.redis is not None:
            await self.redis.aclose()
            await self.redis.connection_pool.disconnect()


class KehaiApp(Quart):
    """The Quart app with its container as a typed attribute."""

    kehai: Kehai


def kehai() -> Kehai:
    """The running app's container (inside a request or app context)."""
    return cast(KehaiApp, current_app).kehai
