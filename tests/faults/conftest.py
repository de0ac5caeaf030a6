"""Fault injection: real PostgreSQL, a Redis of the test's own that it can kill and restart,
and servers killed at chosen points (KEHAI_FAULT, app/faults.py)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.scaleout.conftest import REDIS_URL, pg_url, redis_prefix  # noqa: F401  (fixtures)
from tests.stream.conftest import listen  # noqa: F401  (the same stream reader)
from tests.support import IN_CI, Server, free_port

# The relay runs often in these tests: recovery is measured, not waited for.
RELAY = {"outbox_relay_s": 0.2, "outbox_grace_s": 0.5}


class OwnRedis:
    """redis-server on a free port, in a directory of the test's, stopped and started at will."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, aof: bool) -> OwnRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            if IN_CI:
                pytest.fail("redis-server is required under CI=true")
            pytest.skip("redis-server not installed")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if aof else "no", "--appendfsync", "always",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    yield server
    server.kill()


@pytest.fixture
def node(tmp_path: Path, pg_url: str, redis_prefix: str):  # noqa: F811
    """node(redis_url=..., fault=...) -> an app process on PostgreSQL and that Redis."""
    servers: list[Server] = []

    def make(redis_url: str = REDIS_URL, fault: str = "") -> Server:
        env = {"KEHAI_DATABASE_URL": pg_url, "KEHAI_REDIS_URL": redis_url,
               "KEHAI_REDIS_PREFIX": redis_prefix, "KEHAI_SECRET_KEY": "shared-" + redis_prefix,
               "KEHAI_FAULT": fault}
        server = Server(tmp_path / f"node{len(servers)}", tuning=RELAY, env=env).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
