"""GET /sse as a lean ASGI handler beside the Quart app, on the same Hypercorn.

A stream lives for up to 30 minutes and writes thousands of times; Quart's request and app
contexts, hooks and response wrapper cost memory for all that time and work on every connect.
This handler reads the same signed session cookie, runs the same admission checks and the
same stream loop (app/realtime/streaming.py), and hands everything else to Quart.
"""

from __future__ import annotations

import asyncio
import contextlib
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from quart import Quart

from app.db import run_db
from app.i18n import negotiate, use_locale
from app.models import Session
from app.realtime.streaming import Refusal, admit, events
from app.security import CSP
from app.services import Services

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class LeanSSE:
    """ASGI app: /sse handled here, everything else (and lifespan) by Quart."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self.kehai: Services = app.extensions["kehai"]
        self.serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]
        self.max_age = int(app.permanent_session_lifetime.total_seconds())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/sse" and scope["method"] == "GET":
            await self.stream(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _session_id(self, headers: dict[bytes, bytes]) -> str | None:
        jar = SimpleCookie()
        with contextlib.suppress(Exception):
            jar.load(headers.get(b"cookie", b"").decode("latin-1"))
        morsel = jar.get(self.cookie_name)
        if morsel is None or self.serializer is None:
            return None
        try:
            data = self.serializer.loads(morsel.value, max_age=self.max_age)
        except Exception:  # a bad or expired signature is simply "not signed in"
            return None
        sid = data.get("sid") if isinstance(data, dict) else None
        return sid if isinstance(sid, str) else None

    async def _admit(self, scope: dict) -> Refusal | tuple[int, str, str, str | None, str]:
        """A refusal, or (user id, session id, language, resume id, tab id).

        Kept apart from `stream` so that nothing used only to admit (headers, the query)
        stays referenced for the half hour a stream lives.
        """
        headers = dict(scope["headers"])
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        lang = negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
        sid = await self._session_id(headers)
        user_id = await run_db(Session.user_id_for, sid) if sid else None
        with use_locale(lang):
            refusal = await admit(self.kehai, user_id)
        if refusal is not None or user_id is None or sid is None:
            return refusal or Refusal(401, "")
        resume_raw = headers.get(b"last-event-id")
        resume = resume_raw.decode("latin-1") if resume_raw is not None else (
            query.get("since", [None])[0])
        return user_id, sid, lang, resume, query.get("tab", [""])[0][:64]

    async def stream(self, scope: dict, receive: Any, send: Any) -> None:
        admitted = await self._admit(scope)
        if isinstance(admitted, Refusal):
            extra = ([(b"retry-after", str(admitted.retry_after).encode())]
                     if admitted.retry_after else [])
            await send({"type": "http.response.start", "status": admitted.status,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    *HEADERS[3:], *extra]})
            await send({"type": "http.response.body", "body": (admitted.message + "\n").encode()})
            return
        user_id, sid, lang, resume, tab = admitted
        body = events(self.kehai.hub, user_id, sid, lang, resume, tab)
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        # The stream is written from this task; one small task watches for the client leaving
        # and cancels it (a second writer task and asyncio.wait cost memory on every stream).
        this = asyncio.current_task()
        assert this is not None
        gone = False

        def left(_: asyncio.Future[None]) -> None:
            nonlocal gone
            gone = True
            this.cancel()

        watcher = asyncio.ensure_future(self._disconnected(receive))
        watcher.add_done_callback(left)
        try:
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                raise  # cancelled from outside (shutdown): never swallowed
            this.uncancel()
        finally:
            watcher.remove_done_callback(left)
            watcher.cancel()
            await body.aclose()  # the stream's cleanup, even when cancelled mid-write

    async def _disconnected(self, receive: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
