"""The floor Kehai is measured against: a bare Quart + Hypercorn broadcaster.

One worker, uvloop, an asyncio.Queue per connection and nothing else: no auth, no replay, no
rendering. `GET /sse` streams; `POST /publish` puts the request body into every queue as one
unnamed SSE event. Run: python bench/bare.py --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request

app = Quart(__name__)
queues: set[asyncio.Queue[bytes]] = set()
ids = itertools.count(1)


@app.get("/sse")
async def sse() -> Response:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    queues.add(queue)

    async def body():
        try:
            yield b"retry: 2000\ndata: hello\n\n"
            while True:
                yield await queue.get()
        finally:
            queues.discard(queue)

    response = Response(body(), mimetype="text/event-stream")
    response.timeout = None
    return response


@app.post("/publish")
async def publish() -> tuple[str, int]:
    data = (await request.get_data()).decode()
    frame = (
        f"id: {next(ids)}\n" + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
    ).encode()
    for queue in queues:
        queue.put_nowait(frame)
    return "", 204


@app.get("/healthz")
async def healthz() -> str:
    return "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    import uvloop

    uvloop.install()
    asyncio.run(serve(app, config))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
