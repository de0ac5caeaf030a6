"""One stream's life, shared by the Quart route and the lean ASGI handler: admit, open,
replay or resync, then write every wake-up's events as one chunk until told to stop."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from app.i18n import gettext as _
from app.ratelimit import retry_after_header
from app.realtime import kinds
from app.realtime import sse as framing
from app.realtime.connection import Connection
from app.realtime.events import Event, EventId
from app.realtime.hub import Hub, TooManyStreams
from app.services import Services

RETRY_MS = 2000
HELLO = '<i hidden data-event="hello"></i>'
RESYNC = '<i hidden data-event="resync"></i>'
CLOSE = '<i hidden data-event="close"></i>'


@dataclass
class Refusal:
    status: int
    message: str
    retry_after: int | None = None


async def admit(kehai: Services, user_id: int | None) -> Refusal | None:
    """Why this stream may not open now, or None. The caller has set the locale."""
    hub, config = kehai.hub, kehai.config
    if user_id is None:
        return Refusal(401, _("Please sign in again."))
    if hub.stopping:
        return Refusal(503, _("Live updates are briefly unavailable."), 2)
    if hub.streams_of(user_id) >= config.max_streams_per_user:
        return Refusal(429, _("Too many open tabs. Close one and try again."), 10)
    # New streams per minute: generous enough that a resuming tab never meets it.
    wait = await kehai.limiter.hit(f"streams:{user_id}", *config.stream_limit)
    if wait is not None:
        return Refusal(429, _("Reconnecting too often. Wait a moment."),
                       int(retry_after_header(wait)))
    try:
        await hub.head()
    except Exception:
        return Refusal(503, _("Live updates are briefly unavailable."), 2)
    return None


async def events(hub: Hub, user_id: int, session_id: str, lang: str, resume: str | None,
                 tab: str) -> AsyncIterator[bytes]:
    """The stream's bytes. Cleans up in `finally`; never swallows cancellation."""
    try:
        conn = hub.open(user_id, session_id, lang, tab)
    except TooManyStreams:
        return
    metrics = hub.metrics
    try:
        yield await _opening(hub, conn, resume)
        while True:
            await conn.wait()
            if conn.closing == kinds.CLOSE:
                yield framing.frame(CLOSE, event=kinds.CLOSE)
                return
            if conn.closing is not None or conn.overflowed:
                return  # the client reconnects with Last-Event-ID and resumes
            batch = conn.drain()
            if batch:
                now = time.time()
                for event in batch:
                    metrics.observe_latency(now - event.created)
                # Everything queued since the last wake-up goes out in one write.
                yield b"".join(e.frame_for(lang) for e in batch)
            elif conn.ping:
                conn.ping = False
                yield framing.comment("ping")
    finally:
        hub.close(conn)


async def _opening(hub: Hub, conn: Connection, resume: str | None) -> bytes:
    """Replay what the client missed, or tell it to resync; always sets retry and an id."""
    head = await hub.head()
    missed: list[Event] | None = [] if resume is None else await hub.replay(conn.user_id, resume)
    if missed is None or resume is None:
        # Unknown position (or a client that gave none): reload what the page shows.
        conn.last_seq = max(conn.last_seq, head.seq)
        return framing.frame(RESYNC, event_id=str(head), retry_ms=RETRY_MS)
    after = EventId.parse(resume)
    assert after is not None
    conn.last_seq = max([after.seq, *(e.seq for e in missed)])
    hello = framing.frame(HELLO, event_id=str(after), retry_ms=RETRY_MS)
    return hello + b"".join(e.frame_for(conn.lang) for e in missed)
