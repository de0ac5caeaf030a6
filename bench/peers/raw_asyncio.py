"""The floor for Python: a raw asyncio broadcaster, no framework and no HTTP library.

One process, uvloop, asyncio.Protocol per connection, hand-written HTTP/1.1: `GET /sse` answers
the SSE headers and keeps the transport; `POST /publish` frames its body as one SSE event and
writes it to every transport (a `transport.write` per stream, nothing else: no task, no queue
per connection). `GET /healthz` answers ok. Run: python bench/peers/raw_asyncio.py --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools

from _frame import sse_frame

SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
HELLO = b"retry: 2000\ndata: hello\n\n"
streams: set[asyncio.Transport] = set()
ids = itertools.count(1)


def chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


class Http(asyncio.Protocol):
    """Just enough HTTP/1.1 for the bench: one request per read, keep-alive for POSTs."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        streams.discard(self.transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            self.handle(head.split(" ", 2), body)

    def handle(self, request_line: list[str], body: bytes) -> None:
        t = self.transport
        assert t is not None
        method, path = request_line[0], request_line[1] if len(request_line) > 1 else "/"
        if method == "GET" and path == "/sse":
            t.write(SSE_HEAD + chunk(HELLO))
            streams.add(t)
        elif method == "POST" and path == "/publish":
            data = chunk(sse_frame(next(ids), body))
            for s in streams:
                s.write(data)
            t.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif method == "GET" and path == "/healthz":
            t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        else:
            t.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
