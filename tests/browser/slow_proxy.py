"""A slow link on loopback: a TCP relay that delivers every chunk `delay_s` after it arrived.

Each direction keeps its order and its throughput; only latency is added, like a long,
wide path (a request and its answer each take `delay_s` more). Runs its own asyncio loop
in a thread, so a synchronous Playwright test can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class SlowProxy:
    def __init__(self, upstream_port: int, delay_s: float) -> None:
        self.upstream_port = upstream_port
        self.delay_s = delay_s
        self.loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Future[None]] = set()
        self._deliveries: set[asyncio.Future[None]] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: asyncio.Server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        self._writers.update((client_w, upstream_w))
        relay = asyncio.gather(self._pipe(client_r, upstream_w), self._pipe(upstream_r, client_w))
        self._relays.add(relay)
        try:
            await relay
        finally:
            self._relays.discard(relay)
            for w in (client_w, upstream_w):
                w.close()
                self._writers.discard(w)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy source to sink, each chunk held back until `delay_s` after it was read."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not chunk:
                    break
                sink.write(chunk)
                await sink.drain()
            with contextlib.suppress(OSError):
                if sink.can_write_eof():
                    sink.write_eof()

        writer = asyncio.ensure_future(deliver())
        self._deliveries.add(writer)
        try:
            while chunk := await source.read(65536):
                queue.put_nowait((loop.time() + self.delay_s, chunk))
        except (OSError, asyncio.IncompleteReadError):
            pass
        queue.put_nowait((loop.time() + self.delay_s, b""))
        # close() cancels the delivery (not this task): that is its end, not ours.
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await writer
        self._deliveries.discard(writer)

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            for w in list(self._writers):
                w.close()  # the reading side of each pipe sees its end
            for d in list(self._deliveries):
                d.cancel()
            if self._relays:
                await asyncio.wait(list(self._relays), timeout=5)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
