"""`--workers N` heals: a worker killed is restarted while the others serve."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx

from tests.scaleout.conftest import REDIS_URL
from tests.support import Person, Server


def workers_of(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in children.read_text().split()} if children.exists() else set()


async def test_a_killed_worker_is_replaced_and_the_service_stays_up(tmp_path, pg_url,
                                                                    redis_prefix, listen):
    env = {"KEHAI_DATABASE_URL": pg_url, "KEHAI_REDIS_URL": REDIS_URL,
           "KEHAI_REDIS_PREFIX": redis_prefix, "KEHAI_SECRET_KEY": "s-" + redis_prefix}
    server = Server(tmp_path / "sup", env=env, args=["--workers", "2"]).start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if len(workers_of(server.proc.pid)) >= 2:
                break
            await asyncio.sleep(0.1)
        before = workers_of(server.proc.pid)
        assert len(before) == 2
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = workers_of(server.proc.pid)
            if len(now) == 2 and victim not in now:
                break
            assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
            await asyncio.sleep(0.1)
        assert server.proc.poll() is None, "the supervisor gave up"
        now = workers_of(server.proc.pid)
        assert victim not in now and len(now) == 2
        alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
        cid = alice.start_direct("bob")
        stream = await listen(bob)
        assert alice.send(cid, "after the restart").status_code == 201
        await stream.wait_text("after the restart", timeout=15)
    finally:
        server.stop()
