"""The hub: local streams by user and session, fed by the broker, written once for all."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from typing import Protocol

from app.config import Config
from app.metrics import Metrics
from app.realtime.broker import Broker, Replay
from app.realtime.connection import Connection
from app.realtime.control import CloseSessions, Control, ResyncAll
from app.realtime.events import Event, EventId
from app.realtime.languages import SeenLanguages
from app.realtime.ticker import tick_forever


class StreamListener(Protocol):
    """What the app above hears from the hub (wired once, in app/wiring.py)."""

    def opened(self, conn: Connection, streams: int) -> None:
        """A stream opened; `streams` is how many its user now has on this process."""

    def closed(self, conn: Connection, streams: int) -> None:
        """A stream ended; `streams` is how many its user has left on this process."""

    def control(self, message: Control) -> None:
        """A control message for the app (typing and presence state of other processes)."""


class _Nobody:
    def opened(self, conn: Connection, streams: int) -> None:
        pass

    def closed(self, conn: Connection, streams: int) -> None:
        pass

    def control(self, message: Control) -> None:
        pass


class TooManyStreams(Exception):
    """The user already has the maximum number of open streams."""


class PublishFailed(Exception):
    """The broker could not take a durable event (a message or a read mark)."""


class Hub:
    def __init__(self, broker: Broker, config: Config, metrics: Metrics) -> None:
        self.broker = broker
        self.config = config
        self.metrics = metrics
        self.by_user: dict[int, dict[int, Connection]] = {}
        self.by_session: dict[str, dict[int, Connection]] = {}
        self.listener: StreamListener = _Nobody()
        # Which languages to render an event in (app/realtime/languages.py).
        self.languages = SeenLanguages(complete=getattr(broker, "single_process", False))
        self.stopping = False
        self._ticker: asyncio.Task[None] | None = None
        metrics.gauge("kehai_open_streams", self.open_streams)

    async def start(self) -> None:
        await self.broker.start(self._deliver, self._on_control)
        self._ticker = asyncio.get_running_loop().create_task(tick_forever(self))

    # -- connections ---------------------------------------------------------------------

    def open(self, user_id: int, session_id: str, lang: str, tab: str = "") -> Connection:
        mine = self.by_user.setdefault(user_id, {})
        if len(mine) >= self.config.max_streams_per_user:
            raise TooManyStreams
        conn = Connection(user_id, session_id, lang, self.config.queue_size, tab)
        self.languages.saw(user_id, conn.lang)
        conn.deadline = time.monotonic() + self.config.stream_lifetime_s
        mine[conn.id] = conn
        self.by_session.setdefault(session_id, {})[conn.id] = conn
        self.listener.opened(conn, len(mine))
        return conn

    def close(self, conn: Connection) -> None:
        mine = self.by_user.get(conn.user_id, {})
        if mine.pop(conn.id, None) is None:
            return
        if not mine:
            self.by_user.pop(conn.user_id, None)
        session = self.by_session.get(conn.session_id, {})
        session.pop(conn.id, None)
        if not session:
            self.by_session.pop(conn.session_id, None)
        self.listener.closed(conn, len(mine))

    def streams_of(self, user_id: int) -> int:
        return len(self.by_user.get(user_id, ()))

    def connections_of(self, user_id: int) -> list[Connection]:
        return list(self.by_user.get(user_id, {}).values())

    def connections(self) -> Iterator[Connection]:
        """Every stream open on this process."""
        for conns in list(self.by_user.values()):
            yield from list(conns.values())

    def open_streams(self) -> int:
        return sum(len(c) for c in self.by_user.values())

    async def healthy(self) -> bool:
        """Whether events can be published right now."""
        return await self.broker.healthy()

    # -- events --------------------------------------------------------------------------

    async def publish(self, kind: str, recipients: Iterable[int], html: dict[str, str],
                      coalesce_key: str | None = None, once_key: str | None = None
                      ) -> Event | None:
        """Hand one rendered event to the broker; it comes back through `_deliver`.

        A lost presence or typing event is superseded by the next one, so its failure is
        only counted; a message or read mark raises PublishFailed, and the outbox keeps it
        for the relay to publish once the broker is back."""
        targets = frozenset(recipients)
        if not targets:
            return None
        event = Event(kind=kind, recipients=targets, html=html, coalesce_key=coalesce_key,
                      once_key=once_key)
        try:
            await self.broker.publish(event)
        except Exception as error:
            self.metrics.inc("kehai_publish_failures_total", kind=kind)
            if not event.droppable:
                raise PublishFailed(kind) from error
            return None
        if event.seq:  # 0: a once-only event that was already out
            self.metrics.inc("kehai_events_published_total", kind=kind)
        return event

    def _deliver(self, event: Event) -> None:
        recipients = event.recipients
        local = self.by_user
        # Walk whichever side is smaller: a huge room on a process with few streams is cheap.
        if len(recipients) <= len(local):
            users: Iterable[int] = recipients
        else:
            users = [u for u in local if u in recipients]
        delivered = 0
        for user_id in users:
            for conn in local.get(user_id, {}).values():
                outcome = conn.push(event)
                if outcome is None:
                    delivered += 1
                else:
                    self.metrics.inc(f"kehai_events_{outcome}_total", kind=event.kind)
        if delivered:
            self.metrics.inc("kehai_events_delivered_total", delivered, kind=event.kind)

    async def head(self) -> EventId:
        """The id of the newest event: where a freshly rendered page starts listening."""
        return await self.broker.head()

    async def replay(self, user_id: int, last_event_id: str | None) -> Replay | None:
        """Missed events after the client's id; None means the client must resync."""
        parsed = EventId.parse(last_event_id)
        events = None if parsed is None else await self.broker.replay(user_id, parsed)
        self.metrics.inc("kehai_replay_total", result="miss" if events is None else "hit")
        return events

    # -- control -------------------------------------------------------------------------

    async def end_sessions(self, session_ids: Iterable[str]) -> None:
        """Close the streams of revoked sessions on every process, for good."""
        ids = tuple(session_ids)
        if ids:
            await self.broker.send_control(CloseSessions(ids))

    async def send_control(self, message: Control) -> None:
        """Tell every process's hub (and the app above it) `message`."""
        await self.broker.send_control(message)

    def _on_control(self, message: Control) -> None:
        match message:
            case CloseSessions(ids=ids):
                for sid in ids:
                    for conn in list(self.by_session.get(sid, {}).values()):
                        conn.close("close")
            case ResyncAll():
                for conn in self.connections():
                    conn.close("resync")
            case _:
                self.listener.control(message)

    async def stop(self) -> None:
        """After shutdown: release the broker's connections."""
        await self.broker.stop()

    def shutdown(self) -> None:
        """End every stream promptly (server stopping); clients resume on the next one."""
        self.stopping = True
        if self._ticker is not None:
            self._ticker.cancel()
        for conn in self.connections():
            conn.close("shutdown")
