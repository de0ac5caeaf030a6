"""A client that stops reading is cut: its slot and presence are freed, it resumes later."""

import asyncio
import time

from app.config import Config
from app.metrics import Metrics
from app.realtime import kinds
from app.realtime.events import Event
from app.realtime.hub import Hub
from app.realtime.memory_broker import MemoryBroker


async def started(**tuning) -> Hub:
    config = Config(secret_key="x", database_url="sqlite:///:memory:", **tuning)
    hub = Hub(MemoryBroker(config), config, Metrics())
    await hub.start()
    return hub


async def test_a_stream_stuck_in_a_write_longer_than_the_timeout_is_cut():
    hub = await started(write_timeout_s=0.2)
    stuck, fine = hub.open(1, "s", "en"), hub.open(2, "t", "en")
    cut: list[int] = []
    stuck.abort, fine.abort = (lambda: cut.append(1)), (lambda: cut.append(2))
    stuck.writing_since = time.monotonic()
    await asyncio.sleep(0.6)
    assert cut == [1] and stuck.closing == "write-timeout"
    assert fine.closing is None  # not writing: nothing to cut
    hub.shutdown()


async def test_an_overflowing_stream_stuck_in_a_write_is_cut_at_once():
    hub = await started(queue_size=2, write_timeout_s=60)
    conn = hub.open(1, "s", "en")
    cut: list[bool] = []
    conn.abort = lambda: cut.append(True)
    conn.writing_since = time.monotonic()
    for n in range(3):
        conn.push(Event(kinds.NEW_MESSAGE, frozenset({1}), {"en": f"m{n}"}, seq=n + 1))
    assert cut == [True] and conn.overflowed
    hub.shutdown()


async def test_a_stream_that_keeps_up_is_never_cut():
    hub = await started(write_timeout_s=0.2)
    conn = hub.open(1, "s", "en")
    cut: list[bool] = []
    conn.abort = lambda: cut.append(True)
    for _ in range(8):  # quick writes, each taken by the socket at once
        conn.writing_since = time.monotonic()
        await asyncio.sleep(0.05)
        conn.writing_since = 0.0
    assert cut == [] and conn.closing is None
    hub.shutdown()
