"""Starlette + uvicorn broadcaster: the idiomatic Python ASGI design.

One uvicorn worker (uvloop, httptools when installed), an asyncio.Queue per stream drained by
a StreamingResponse generator; `POST /publish` frames its body as one SSE event and puts it
into every queue. No auth, no replay. Run: python bench/peers/starlette_app.py --port 9000
(pip install -e '.[bench]' for starlette and uvicorn).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections.abc import AsyncIterator

import uvicorn
from _frame import sse_frame
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

queues: set[asyncio.Queue[bytes]] = set()
ids = itertools.count(1)


async def sse(request: Request) -> StreamingResponse:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    queues.add(queue)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\ndata: hello\n\n"
            while True:
                yield await queue.get()
        finally:
            queues.discard(queue)

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


async def publish(request: Request) -> Response:
    frame = sse_frame(next(ids), await request.body())
    for queue in queues:
        queue.put_nowait(frame)
    return Response(status_code=204)


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[
        Route("/sse", sse),
        Route("/publish", publish, methods=["POST"]),
        Route("/healthz", healthz),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning",
        loop="auto", http="auto", backlog=1024, timeout_keep_alive=30,
    )


if __name__ == "__main__":
    main()
