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
from app.realtime.streaming import admit, events
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

    async def stream(self, scope: dict, receive: Any, send: Any) -> None:
        headers = dict(scope["headers"])
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        lang = negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
        sid = await self._session_id(headers)
        user = await run_db(Session.user_for, sid) if sid else None
        with use_locale(lang):
            refusal = await admit(self.kehai, user.id if user else None)
        if refusal is not None:
            extra = ([(b"retry-after", str(refusal.retry_after).encode())]
                     if refusal.retry_after else [])
            await send({"type": "http.response.start", "status": refusal.status,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    *HEADERS[3:], *extra]})
            await send({"type": "http.response.body", "body": (refusal.message + "\n").encode()})
            return
        resume_raw = headers.get(b"last-event-id")
        resume = resume_raw.decode("latin-1") if resume_raw is not None else (
            query.get("since", [None])[0])
        tab = query.get("tab", [""])[0][:64]
        body = events(self.kehai.hub, user.id, sid or "", lang, resume, tab)
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        writer = asyncio.ensure_future(self._write(body, send))
        watcher = asyncio.ensure_future(self._disconnected(receive))
        try:
            await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writer, watcher):
                task.cancel()
            for task in (writer, watcher):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _write(self, body: Any, send: Any) -> None:
        try:
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await body.aclose()  # runs the stream's cleanup even when cancelled mid-write

    async def _disconnected(self, receive: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
