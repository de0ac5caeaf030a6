"""GET /sse: who may open a stream, and the stream through Quart.

`python run.py` serves /sse through the lean ASGI handler in app/realtime/asgi_sse.py,
which asks `StreamDoor` below the same questions; this Quart route serves the test client and
any deployment that mounts the Quart app alone. Both go through `admission`.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from quart import Blueprint, Quart, Response, g, request, session

from app.db import read_now
from app.hot_reads import live_user_ids
from app.i18n import current, negotiate, use_locale
from app.i18n import gettext as _
from app.kehai import Kehai, kehai
from app.limits import retry_after
from app.models.session import Lifetime
from app.outages import DATABASE_DOWN
from app.realtime.streaming import STREAM_HEADERS, Admission, Refusal, events
from app.web.cookie_session import CookieSession

bp = Blueprint("stream", __name__)
UNAVAILABLE = "Live updates are briefly unavailable."


async def admission(app: Kehai, user_id: int | None) -> Refusal | None:
    """Why this stream may not open now, or None. The caller has set the locale."""
    hub, config = app.hub, app.config
    if user_id is None:
        return Refusal(401, _("Please sign in again."))
    if hub.stopping:
        return Refusal(503, _(UNAVAILABLE), 2)
    if hub.streams_of(user_id) >= config.max_streams_per_user:
        return Refusal(429, _("Too many open tabs. Close one and try again."), 10)
    # New streams per minute: generous enough that a resuming tab never meets it.
    wait = await app.limits.wait(f"streams:{user_id}", config.stream_limit)
    if wait is not None:
        return Refusal(429, _("Reconnecting too often. Wait a moment."), retry_after(wait))
    try:
        await hub.head()
    except Exception:
        return Refusal(503, _(UNAVAILABLE), 2)
    return None


def _refused(refusal: Refusal) -> Response:
    return Response(refusal.body(), status=refusal.status, headers=dict(refusal.headers()))


@bp.get("/sse")
async def sse() -> Response:
    if request.method == "HEAD":  # a HEAD would open a real stream (counted, user online)
        return Response("GET only\n", status=405, headers={"Allow": "GET"})
    user = g.get("user")
    refusal = await admission(kehai(), user.id if user else None)
    if refusal is not None:
        return _refused(refusal)
    resume = request.headers.get("Last-Event-ID")
    if resume is None:
        resume = request.args.get("since")  # the id the page was rendered at
    admitted = Admission(user.id, session.get("sid", ""), current(), resume,
                         request.args.get("tab", "")[:64])
    response = Response(events(kehai().hub, admitted), headers=dict(STREAM_HEADERS))
    response.timeout = None  # this route only: the stream lives until it ends itself
    return response


class SessionLookups:
    """The user ids of the sessions of streams opening together, one query for all.

    In a reconnect storm every stream's admission cost a thread-pool hop and a query of its
    own, and those were the storm's wall (bench/results/peers.md). Lookups that arrive while
    two queries are in flight wait and go together in the next; the answer is the same query's
    (live now, at the time it runs). The query is compiled once per batch size
    (`hot_reads.live_user_ids`; building it with peewee each time was most of its cost) and,
    on SQLite, runs on the event loop like the pages' session reads."""

    IN_FLIGHT = 2

    def __init__(self, lifetime: Lifetime) -> None:
        self.lifetime = lifetime
        self.waiting: dict[str, list[asyncio.Future[int | None]]] = {}
        self.in_flight = 0

    async def user_id(self, sid: str) -> int | None:
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(sid, []).append(future)
        if self.in_flight < self.IN_FLIGHT:
            self._next()
        return await future

    def _next(self) -> None:
        if not self.waiting:
            return
        batch, self.waiting = self.waiting, {}
        self.in_flight += 1
        asyncio.get_running_loop().create_task(self._look_up(batch))

    async def _look_up(self, batch: dict[str, list[asyncio.Future[int | None]]]) -> None:
        try:
            found = await read_now(live_user_ids, list(batch), self.lifetime)
        except Exception as error:  # each waiting stream handles it (a database outage: 503)
            for futures in batch.values():
                for f in futures:
                    if not f.done():
                        f.set_exception(error)
            return
        finally:
            self.in_flight -= 1
            self._next()
        for sid, futures in batch.items():
            for f in futures:
                if not f.done():
                    f.set_result(found.get(sid))


class StreamDoor:
    """The lean handler's admission: the same signed cookie, session and limits."""

    def __init__(self, app: Quart, container: Kehai) -> None:
        self.kehai = container
        self.cookies = CookieSession(app)
        self.lifetime = Lifetime(container.config.session_idle_s, container.config.session_max_s)
        self.sessions = SessionLookups(self.lifetime)

    async def __call__(self, headers: dict[bytes, bytes], query_string: bytes
                       ) -> Admission | Refusal:
        query = parse_qs(query_string.decode("latin-1"))
        lang = negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
        sid = self.cookies.session_id(headers)
        try:
            user_id = await self.sessions.user_id(sid) if sid else None
        except DATABASE_DOWN as error:
            self.kehai.database.failed(error)
            with use_locale(lang):
                return Refusal(503, _(UNAVAILABLE), 5)
        with use_locale(lang):
            refusal = await admission(self.kehai, user_id)
        if refusal is not None or user_id is None or sid is None:
            return refusal or Refusal(401, "")
        resume_raw = headers.get(b"last-event-id")
        resume = resume_raw.decode("latin-1") if resume_raw is not None else (
            query.get("since", [None])[0])
        return Admission(user_id, sid, lang, resume, query.get("tab", [""])[0][:64])
