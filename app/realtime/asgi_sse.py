"""GET /sse as a lean ASGI handler beside the Quart app, on the same Hypercorn.

A stream lives for up to 30 minutes and writes thousands of times; Quart's request and app
contexts, hooks and response wrapper cost memory for all that time and work on every connect.
This handler asks the app's own door (`admit`: the same cookie, session and limits as the
Quart route) whether the stream may open, runs the same stream loop
(app/realtime/streaming.py), and hands every other request to the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from app.realtime.hub import Hub
from app.realtime.streaming import STREAM_HEADERS, Admission, Refusal, events

Headers = list[tuple[bytes, bytes]]
# (request headers, query string) -> may this stream open? Kept apart from the stream so that
# nothing used only to admit (headers, the query) stays referenced for the half hour it lives.
Door = Callable[[dict[bytes, bytes], bytes], Awaitable[Admission | Refusal]]


def _encode(headers: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> Headers:
    return [(k.lower().encode(), v.encode()) for k, v in headers]


class LeanSSE:
    """ASGI app: /sse handled here, everything else (and lifespan) by `app`."""

    def __init__(self, app: Any, hub: Hub, admit: Door, security_headers: Headers) -> None:
        self.app = app
        self.hub = hub
        self.admit = admit
        self.security_headers = security_headers
        self.stream_headers = _encode(STREAM_HEADERS) + security_headers

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/sse":
            if scope["method"] == "GET":
                await self.stream(scope, receive, send)
            else:  # HEAD too: it would open a real stream (counted, its user online)
                await self._refuse(send, Refusal(405, "GET only"), [(b"allow", b"GET")])
        else:
            await self.app(scope, receive, send)

    async def _refuse(self, send: Any, refusal: Refusal, extra: Headers | None = None) -> None:
        await send({"type": "http.response.start", "status": refusal.status,
                    "headers": _encode(refusal.headers()) + self.security_headers
                    + (extra or [])})
        await send({"type": "http.response.body", "body": refusal.body()})

    async def stream(self, scope: dict, receive: Any, send: Any) -> None:
        admitted = await self.admit(dict(scope["headers"]), scope.get("query_string", b""))
        if isinstance(admitted, Refusal):
            await self._refuse(send, admitted)
            return
        body = events(self.hub, admitted)
        await send({"type": "http.response.start", "status": 200, "headers": self.stream_headers})
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
