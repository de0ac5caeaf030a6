"""Plain HTTP/1.1 served natively on Hypercorn's own listening socket; whatever is not
plain is handed to Hypercorn untouched.

Profiled at 5,000 streams (bench/run.py --profile), a third of the server's time per
delivery went to Hypercorn's per-write path (h11's framing and state checks, the
connection's send lock, StreamWriter.drain) and each stream held Hypercorn's reader task,
app task, h11 connection and HTTP stream for its half hour. On bench/rooms.py the same
machinery was a fifth of a message's server time. So this front reads each request head of
a plain-HTTP connection itself. A plain request (HTTP/1.1, GET or POST, one Host, no body or
a Content-Length one of at most 64 KiB, no upgrade, no Expect, no Transfer-Encoding, an
ASCII origin-form target, well-formed header lines) is run here through the very same ASGI
application (the edge checks, the lean handlers, Quart: same authentication, replay, limits
and headers), with a `send` that writes straight to the transport and waits only while the
socket is full. Requests follow each other on a kept-alive connection, pipelined ones in
order. At the first request that is not plain (or a head over 16 KiB), the connection is
handed, bytes already read included, to Hypercorn's connection handler as if Hypercorn had
accepted it itself, and stays Hypercorn's. TLS (and so HTTP/2) stays entirely Hypercorn's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from http import HTTPStatus
from typing import Any, NamedTuple
from urllib.parse import unquote
from wsgiref.handlers import format_date_time

log = logging.getLogger("kehai")
MAX_HEAD = 16 * 1024  # larger heads go to Hypercorn, which answers them as it always did
MAX_BODY = 64 * 1024  # larger bodies too: Hypercorn streams them to the app
IDLE_TIMEOUT_S = 5.0  # Hypercorn's keep_alive_timeout: a connection waiting for a head
_REFUSED_HEADERS = (b"transfer-encoding", b"upgrade", b"expect", b"http2-settings")
_TARGET = re.compile(rb"/[\x21-\x7e]*")
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_NO_BODY = (204, 304)
_FRAMING = frozenset((b"content-length", b"connection", b"transfer-encoding"))
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _reason(status: int) -> bytes:
    with contextlib.suppress(ValueError):
        return HTTPStatus(status).phrase.encode()
    return b""


_STATUS_LINES = {s.value: b"HTTP/1.1 %d %s" % (s.value, _reason(s.value)) for s in HTTPStatus}


class Request(NamedTuple):
    method: bytes
    path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    length: int  # of the body
    close: bool  # the client asked for the connection to end after this response


def parse_head(head: bytes) -> Request | None:
    """The request of a plain HTTP/1.1 head (see the module's doc); None for anything else,
    which Hypercorn then answers (or refuses) exactly as it always did."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if (len(parts) != 3 or parts[0] not in (b"GET", b"POST") or parts[2] != b"HTTP/1.1"
            or not _TARGET.fullmatch(parts[1])):
        return None
    path, _, query = parts[1].partition(b"?")
    headers = []
    hosts, lengths, close = 0, [], False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        value = value.strip(b" \t")
        if not colon or not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
            return None  # malformed (or folded, or a bare CR/LF): Hypercorn answers it
        name = name.lower()
        if name in _REFUSED_HEADERS:
            return None
        if name == b"host":
            hosts += 1
        elif name == b"content-length":
            lengths.append(value)
        elif name == b"connection":
            close = close or b"close" in [t.strip().lower() for t in value.split(b",")]
        headers.append((name, value))
    if hosts != 1 or len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
        return None
    length = int(lengths[0]) if lengths else 0
    if length > MAX_BODY or (length and parts[0] == b"GET"):
        return None
    return Request(parts[0], path, query, headers, length, close)


_date: tuple[int, bytes] = (0, b"")


def _date_header() -> bytes:
    """`date: …`, formatted once a second (as Hypercorn sends it on every response)."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, b"date: " + format_date_time(now).encode())
    return _date[1]


class Exchange:
    """One request and its response on a Front's connection."""

    __slots__ = ("body", "chunked", "close", "complete", "disconnected", "front", "received",
                 "started", "status", "wrote")

    def __init__(self, front: Front, body: bytes, close: bool) -> None:
        self.front = front
        self.body = body
        self.close = close
        self.received = False
        self.disconnected: asyncio.Future[None] | None = None
        self.started: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self.status = 0
        self.chunked = False
        self.wrote = False  # the head went out
        self.complete = False  # the response was written to its end

    async def receive(self) -> dict[str, Any]:
        front = self.front
        if not self.received and not front.gone:
            self.received = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if not front.gone and not self.complete:
            if self.disconnected is None:
                self.disconnected = front.loop.create_future()
            await asyncio.shield(self.disconnected)
        return {"type": "http.disconnect"}

    def end(self) -> None:
        """The client left, or the response is over: a waiting `receive` says disconnect."""
        if self.disconnected is not None and not self.disconnected.done():
            self.disconnected.set_result(None)

    async def send(self, message: dict[str, Any]) -> None:
        front = self.front
        transport = front.transport
        if front.gone or self.complete or transport is None:
            return  # the client left: like Hypercorn, writes after that go nowhere
        kind = message["type"]
        if kind == "http.response.start":
            self.started = (message["status"], list(message.get("headers", ())))
            return
        if kind != "http.response.body":
            return  # no extension is offered in the scope
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        head = b""
        if self.started is not None:
            status, headers = self.started
            self.started = None
            self.status = status
            head = self._head(status, headers, body, more)  # written with the body: one send
            self.wrote = True
        if self.status in _NO_BODY:
            body = b""
        if self.chunked:
            out = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
            if not more:
                out += b"0\r\n\r\n"
        else:
            out = body
        if head:
            out = head + out
        if out:
            transport.write(out)
        if not more:
            self.complete = True
            self.end()
        elif front.paused:
            await front.drain()

    def _head(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, more: bool
              ) -> bytes:
        lines = [_STATUS_LINES.get(status) or b"HTTP/1.1 %d %s" % (status, _reason(status))]
        framed = False
        for name, value in headers:
            name = name.lower()
            if name in _FRAMING:
                if name == b"content-length":
                    framed = True
                elif name == b"connection":
                    self.close = self.close or b"close" in value.lower()
                    continue
                else:
                    raise ValueError("the app set its own transfer-encoding")
            lines.append(name + b": " + value)
        if not framed and status not in _NO_BODY:
            if more:
                # a stream (the SSE ones): its end ends the connection, as it always did
                self.chunked = self.close = True
                lines.append(b"transfer-encoding: chunked")
            else:
                lines.append(b"content-length: %d" % len(body))
        lines.append(_date_header())
        if self.close:
            lines.append(b"connection: close")
        head = b"\r\n".join(lines)
        # One line per header, or a value carried a line break (response splitting).
        if head.count(b"\n") != len(lines) - 1 or head.count(b"\r") != len(lines) - 1:
            raise ValueError("a response header holds a line break")
        return head + b"\r\n\r\n"


class Front(asyncio.Protocol):
    """One accepted connection: its plain requests served here, until one is not plain and
    the connection becomes Hypercorn's."""

    __slots__ = ("app", "buf", "drained", "exchange", "gone", "handler", "loop", "paused",
                 "reading", "timer", "transport")

    def __init__(self, app: Any, handler: Handler, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.handler = handler
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.timer: asyncio.TimerHandle | None = None
        self.exchange: Exchange | None = None
        self.gone = False
        self.paused = False  # the socket is full: writes wait
        self.reading = True
        self.drained: asyncio.Future[None] | None = None

    # -- reading requests ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.timer = self.loop.call_later(IDLE_TIMEOUT_S, self._idle)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.exchange is None:
            self._next()
        elif self.reading and len(self.buf) > MAX_HEAD + MAX_BODY:
            # pipelined requests beyond one more: read on when this response is done
            assert self.transport is not None
            self.transport.pause_reading()
            self.reading = False

    def _next(self) -> None:
        """Serve the next buffered request, or hand the connection off; or wait for more."""
        if self.transport is None or self.gone:
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                self._hand_off()
            return
        request = parse_head(self.buf[:end])
        if request is None:
            self._hand_off()
            return
        whole = end + 4 + request.length
        if len(self.buf) < whole:
            return  # the body is still coming (read again when more arrives)
        self._cancel_timer()
        body, self.buf = self.buf[end + 4 : whole], self.buf[whole:]
        self.exchange = Exchange(self, body, request.close)
        self.loop.create_task(self._serve(self.exchange, self._scope(request)))

    def eof_received(self) -> bool:
        if self.exchange is None and self.buf:
            self._hand_off(eof=True)  # Hypercorn answers what it can of a cut request
        return False  # else close: nothing more will come

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _idle(self) -> None:
        """No whole head within the keep-alive timeout: close, as Hypercorn would; a head
        begun goes to Hypercorn, which answers it as it always did."""
        self.timer = None
        if self.buf:
            self._hand_off()
        elif self.transport is not None:
            self.transport.close()

    def _hand_off(self, eof: bool = False) -> None:
        """Give the connection to Hypercorn, exactly as its own accept would have."""
        transport = self.transport
        if transport is None or transport.is_closing() or self.exchange is not None:
            return
        if self.paused:
            return  # a response of ours is still leaving: resume_writing hands off
        self._cancel_timer()
        if not self.reading:
            transport.resume_reading()
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

    def _scope(self, request: Request) -> dict[str, Any]:
        transport = self.transport
        assert transport is not None
        client = transport.get_extra_info("peername")
        server = transport.get_extra_info("sockname")
        path = request.path.decode("ascii")
        return {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": request.method.decode("ascii"),
            "scheme": "http", "path": unquote(path) if "%" in path else path,
            "raw_path": request.path, "query_string": request.query,
            "root_path": "", "headers": request.headers,
            "client": tuple(client[:2]) if client else None,
            "server": tuple(server[:2]) if server else None, "extensions": {},
        }

    # -- answering -----------------------------------------------------------------------

    async def _serve(self, exchange: Exchange, scope: dict[str, Any]) -> None:
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except asyncio.CancelledError:  # shutting down: drop the connection, unfinished
            if self.transport is not None:
                self.transport.abort()
            raise
        except Exception:
            log.exception("the request %s %s failed", scope["method"], scope["path"])
        transport = self.transport
        if transport is None or self.gone:
            return
        if not exchange.complete:
            if not exchange.wrote:  # nothing went out: an error page, as Hypercorn sends
                exchange.close = True
                await exchange.send({"type": "http.response.start", "status": 500,
                                     "headers": []})
                await exchange.send({"type": "http.response.body", "body": b""})
            else:  # cut mid-response (a stuck write, or failed): drop it with what is unsent
                transport.abort()
                return
        if exchange.close:
            transport.close()  # after what is written has gone
            return
        exchange.end()
        self.exchange = None
        if not self.reading:
            self.reading = True
            transport.resume_reading()
        self.timer = self.loop.call_later(IDLE_TIMEOUT_S, self._idle)
        if self.buf:
            self._next()

    async def drain(self) -> None:
        """Until the socket takes more (the stream's write timeout cuts it otherwise)."""
        if self.drained is None or self.drained.done():
            self.drained = self.loop.create_future()
        await asyncio.shield(self.drained)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake_drained()
        if self.exchange is None and self.buf:
            self._next()  # a hand-off that waited for our last response to leave

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.gone = True
        self.paused = False
        self._wake_drained()
        if self.exchange is not None:
            self.exchange.end()

    def _wake_drained(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)


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
