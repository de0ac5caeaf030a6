"""One stream's life, shared by the Quart route and the lean ASGI handler: open, replay or
resync, then write every wake-up's events as one chunk until told to stop. Whether a stream
may open at all is the app's decision (app/views/stream.py); a refusal is written here."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from app.realtime import kinds, stream_log
from app.realtime import sse as framing
from app.realtime.connection import Connection
from app.realtime.events import Event, EventId
from app.realtime.hub import Hub, TooManyStreams

RETRY_MS = 2000
HELLO = '<i hidden data-event="hello"></i>'
RESYNC = '<i hidden data-event="resync"></i>'
CLOSE = '<i hidden data-event="close"></i>'


STREAM_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache, no-transform"),
    ("X-Accel-Buffering", "no"),  # nginx: pass each event on at once
)


@dataclass(frozen=True, slots=True)
class Admission:
    """A stream allowed to open: whose it is and where it resumes."""

    user_id: int
    session_id: str
    lang: str
    resume: str | None  # Last-Event-ID, or the id the page was rendered at
    tab: str


@dataclass
class Refusal:
    """Why a stream may not open: a status, a message for the page, and when to retry."""

    status: int
    message: str
    retry_after: int | None = None

    def headers(self) -> list[tuple[str, str]]:
        extra = [("Retry-After", str(self.retry_after))] if self.retry_after else []
        return [("Content-Type", "text/plain; charset=utf-8"), *extra]

    def body(self) -> bytes:
        return (self.message + "\n").encode()


async def events(hub: Hub, admission: Admission) -> AsyncIterator[bytes]:
    """The stream's bytes. Cleans up in `finally`; never swallows cancellation."""
    lang, resume = admission.lang, admission.resume
    try:
        conn = hub.open(admission.user_id, admission.session_id, lang, admission.tab)
    except TooManyStreams:
        return
    metrics = hub.metrics
    began = stream_log.opened(conn, resume)
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
        stream_log.closed(conn, began)


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
