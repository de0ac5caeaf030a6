"""GET /sse: one stream per tab carrying everything its user may see, and nothing else."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from quart import Blueprint, Response, abort, g, request, session
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from app.i18n import current
from app.i18n import gettext as _
from app.ratelimit import retry_after_header
from app.realtime import kinds
from app.realtime import sse as framing
from app.realtime.connection import Connection
from app.realtime.events import Event, EventId
from app.realtime.hub import Hub, TooManyStreams
from app.services import services

bp = Blueprint("stream", __name__)
RETRY_MS = 2000
HELLO = '<i hidden data-event="hello"></i>'
RESYNC = '<i hidden data-event="resync"></i>'
CLOSE = '<i hidden data-event="close"></i>'


def _resume_point() -> str | None:
    """Last-Event-ID on a reconnect; on the first connect, the id the page was rendered at."""
    header = request.headers.get("Last-Event-ID")
    return header if header is not None else request.args.get("since")


@bp.get("/sse")
async def sse() -> Response:
    user = g.get("user")
    if user is None:
        abort(401, _("Please sign in again."))
    hub = services().hub
    if hub.stopping:
        abort(503)
    if hub.streams_of(user.id) >= services().config.max_streams_per_user:
        raise TooManyRequests(_("Too many open tabs. Close one and try again."), retry_after=10)
    # New streams per minute: generous enough that a resuming tab never meets it.
    wait = await services().limiter.hit(f"streams:{user.id}", *services().config.stream_limit)
    if wait is not None:
        raise TooManyRequests(_("Reconnecting too often. Wait a moment."),
                              retry_after=int(retry_after_header(wait)))
    try:
        await hub.head()
    except Exception:
        message = _("Live updates are briefly unavailable.")
        raise ServiceUnavailable(message, retry_after=2) from None
    resume = _resume_point()
    tab = request.args.get("tab", "")[:64]
    response = Response(
        _events(hub, user.id, session.get("sid", ""), current(), resume, tab),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )
    response.timeout = None  # this route only: the stream lives until it ends itself
    return response



async def _events(hub: Hub, user_id: int, session_id: str, lang: str,
                  resume: str | None, tab: str) -> AsyncIterator[bytes]:
    try:
        conn = hub.open(user_id, session_id, lang, tab)
    except TooManyStreams:
        return
    metrics = hub.metrics
    try:
        yield await _opening(hub, conn, resume)
        while True:
            if not conn.queue and conn.closing is None and not conn.overflowed and not conn.ping:
                await conn.wake.wait()
            if conn.closing == kinds.CLOSE:
                yield framing.frame(CLOSE, event=kinds.CLOSE)
                return
            if conn.closing is not None or conn.overflowed:
                return  # the client reconnects with Last-Event-ID and resumes
            events = conn.drain()
            if events:
                now = time.time()
                for event in events:
                    metrics.observe_latency(now - event.created)
                yield b"".join(e.frame_for(lang) for e in events)
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
