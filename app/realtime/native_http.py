"""`GET /sse` served natively on Hypercorn's own listening socket; every other connection
is handed to Hypercorn untouched.

Profiled at 5,000 streams (bench/run.py --profile), a third of the server's time per
delivery went to Hypercorn's per-write path (h11's framing and state checks, the
connection's send lock, StreamWriter.drain) and each stream held Hypercorn's reader task,
app task, h11 connection and HTTP stream for its half hour. This front reads the first
request head of each new plain-HTTP connection. A `GET /sse` over HTTP/1.1 (no body, no
upgrade) is run here through the very same ASGI application (the edge checks, the lean
handler and its door: same authentication, replay, limits and headers), with a `send` that
writes each chunk straight to the transport and waits only while the socket is full.
Anything else is handed, bytes already read included, to Hypercorn's connection handler as
if Hypercorn had accepted it itself. TLS (and so HTTP/2) stays entirely Hypercorn's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

log = logging.getLogger("kehai")
MAX_HEAD = 16 * 1024  # larger heads go to Hypercorn, which answers them as it always did
HEAD_TIMEOUT_S = 5.0  # Hypercorn's keep_alive_timeout for a connection's first request
_REFUSED_HEADERS = (b"content-length", b"transfer-encoding", b"upgrade", b"expect")
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _reason(status: int) -> bytes:
    with contextlib.suppress(ValueError):
        return HTTPStatus(status).phrase.encode()
    return b""


def parse_head(head: bytes) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]] | None:
    """(path, query, headers) of a plain `GET /sse HTTP/1.1` with no body; else None."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[2] != b"HTTP/1.1":
        return None
    path, _, query = parts[1].partition(b"?")
    if path != b"/sse":
        return None
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            return None  # malformed: Hypercorn answers it
        name = name.lower()
        if name in _REFUSED_HEADERS:
            return None
        headers.append((name, value.strip(b" \t")))
    return path, query, headers


class Front(asyncio.Protocol):
    """One accepted connection: a native stream, or Hypercorn's after the first head."""

    __slots__ = ("app", "buf", "complete", "disconnected", "drained", "gone", "handler",
                 "loop", "paused", "started", "task", "timer", "transport")

    def __init__(self, app: Any, handler: Handler, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.handler = handler
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        self.started: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self.complete = False  # the response was written to its end
        self.gone = False
        self.paused = False
        self.drained: asyncio.Future[None] | None = None
        self.disconnected: asyncio.Future[None] | None = None

    # -- the first request ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.timer = self.loop.call_later(HEAD_TIMEOUT_S, self._hand_off)

    def data_received(self, data: bytes) -> None:
        if self.task is not None:
            return  # a stream's client has nothing more to say; Hypercorn ignores it too
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                self._hand_off()
            return
        parsed = parse_head(self.buf[:end]) if end + 4 == len(self.buf) else None
        if parsed is None:
            self._hand_off()
            return
        self._cancel_timer()
        self.buf = b""
        self.task = self.loop.create_task(self._serve(self._scope(*parsed)))

    def eof_received(self) -> bool:
        if self.task is None:
            self._hand_off(eof=True)
        return False

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _hand_off(self, eof: bool = False) -> None:
        """Give the connection to Hypercorn, exactly as its own accept would have."""
        self._cancel_timer()
        transport = self.transport
        if transport is None or transport.is_closing() or self.task is not None:
            return
        reader = asyncio.StreamReader(limit=2**16, loop=self.loop)
        protocol = asyncio.StreamReaderProtocol(reader, self.handler, loop=self.loop)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if self.buf:
            protocol.data_received(self.buf)
        if eof:
            protocol.eof_received()
        self.buf = b""
        self.transport = None

    def _scope(self, path: bytes, query: bytes, headers: list[tuple[bytes, bytes]]
               ) -> dict[str, Any]:
        transport = self.transport
        assert transport is not None
        client = transport.get_extra_info("peername")
        server = transport.get_extra_info("sockname")
        return {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path.decode("latin-1"), "raw_path": path, "query_string": query,
            "root_path": "", "headers": headers,
            "client": tuple(client[:2]) if client else None,
            "server": tuple(server[:2]) if server else None, "extensions": {},
        }

    # -- the native stream ---------------------------------------------------------------

    async def _serve(self, scope: dict[str, Any]) -> None:
        try:
            await self.app(scope, self._receive, self._send)
        except Exception:
            log.exception("the /sse stream failed")
        finally:
            if self.transport is not None:
                # A finished response is flushed, then closed; an unfinished one (cut for a
                # stuck write, or failed) is dropped at once with whatever is unsent.
                if self.complete:
                    self.transport.close()
                else:
                    self.transport.abort()

    async def _receive(self) -> dict[str, Any]:
        if not self.gone and self.disconnected is None:
            self.disconnected = self.loop.create_future()
            return {"type": "http.request", "body": b"", "more_body": False}
        if not self.gone and self.disconnected is not None:
            await asyncio.shield(self.disconnected)
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        transport = self.transport
        if self.gone or self.complete or transport is None:
            return  # the client left: like Hypercorn, writes after that go nowhere
        if message["type"] == "http.response.start":
            self.started = (message["status"], list(message.get("headers", ())))
            return
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        if self.started is not None:
            status, headers = self.started
            self.started = None
            framing = [(b"transfer-encoding", b"chunked")] if more else [
                (b"content-length", str(len(body)).encode())]
            transport.write(self._head(status, headers + framing))
            if not more:
                transport.write(body)
                self.complete = True
                return
        if body:
            transport.write(b"%x\r\n%s\r\n" % (len(body), body))
        if not more:
            transport.write(b"0\r\n\r\n")
            self.complete = True
        elif self.paused:
            await self._drain()

    @staticmethod
    def _head(status: int, headers: list[tuple[bytes, bytes]]) -> bytes:
        lines = [b"HTTP/1.1 %d %s" % (status, _reason(status))]
        lines += [name + b": " + value for name, value in headers]
        lines += [b"date: " + formatdate(usegmt=True).encode(), b"connection: close"]
        return b"\r\n".join(lines) + b"\r\n\r\n"

    async def _drain(self) -> None:
        """Until the socket takes more (the stream's write timeout cuts it otherwise)."""
        if self.drained is None or self.drained.done():
            self.drained = self.loop.create_future()
        await asyncio.shield(self.drained)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake("drained")

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.gone = True
        self.paused = False
        self._wake("drained")
        self._wake("disconnected")

    def _wake(self, name: str) -> None:
        future = getattr(self, name)
        if future is not None and not future.done():
            future.set_result(None)


@contextlib.contextmanager
def fronting(app: Any, fd: int) -> Iterator[None]:
    """While Hypercorn serves: its server on socket `fd` is a Front server.

    Hypercorn creates its servers with `asyncio.start_server(handler, sock=...)` and keeps
    no way in between accept and its handler; this wraps that one call for that one socket
    (the metrics port and TLS sockets are left alone)."""
    real = asyncio.start_server

    async def start_server(handler: Handler, *args: Any, sock: Any = None, **kwargs: Any
                           ) -> asyncio.Server:
        if sock is None or sock.fileno() != fd or kwargs.get("ssl") or args:
            return await real(handler, *args, sock=sock, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.create_server(lambda: Front(app, handler, loop), sock=sock,
                                        backlog=kwargs.get("backlog", 100))

    asyncio.start_server = start_server  # type: ignore[assignment]
    try:
        yield
    finally:
        asyncio.start_server = real  # type: ignore[assignment]
