"""One timer for every stream: heartbeats, the lifetime cap and the write timeout.

A task or timer per stream would cost memory on each of thousands of streams; one loop over
them every few seconds costs a walk of the connection table.

The write timeout cuts a stream whose client has stopped reading: its write has been
waiting for longer than `write_timeout_s` (the socket's buffers are full). Without it the
stream waited in the server's drain forever, kept its user online and held one of their
stream slots. A peer that vanished without a word is caught earlier, by the kernel
(TCP_USER_TIMEOUT on the listening socket, app/workers.py).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.realtime.hub import Hub


async def tick_forever(hub: Hub) -> None:
    config = hub.config
    every = min(config.heartbeat_s, config.write_timeout_s / 4)
    next_ping = time.monotonic() + config.heartbeat_s
    while True:
        await asyncio.sleep(every)
        now = time.monotonic()
        ping = now >= next_ping
        if ping:
            next_ping = now + config.heartbeat_s
        for conn in hub.connections():
            if conn.writing_since and now - conn.writing_since > config.write_timeout_s:
                hub.metrics.inc("kehai_streams_cut_total", reason="write-timeout")
                conn.cut("write-timeout")
            elif now >= conn.deadline:
                conn.close("lifetime")
            elif ping:
                conn.ping = True
                conn.wake()
