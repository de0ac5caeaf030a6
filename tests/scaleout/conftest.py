"""Scale-out fixtures: a fresh PostgreSQL database and Redis key prefix per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis

from tests.stream.conftest import listen  # noqa: F401  (the same stream reader)
from tests.support import IN_CI, Server

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _require(what: str, error: Exception) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true: {error}")
    pytest.skip(f"{what} not available: {error}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"kehai_{secrets.token_hex(4)}"
    try:
        admin = psycopg2.connect(PG_DSN, connect_timeout=3)
    except psycopg2.Error as error:
        _require("PostgreSQL on 127.0.0.1:5432", error)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        _require("Redis on 127.0.0.1:6379", error)
    prefix = f"kehai-test-{secrets.token_hex(4)}:"
    yield prefix
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    client.close()


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_prefix: str):
    """make(n) -> n app processes on their own ports sharing PostgreSQL and Redis."""
    servers: list[Server] = []
    env = {"KEHAI_DATABASE_URL": pg_url, "KEHAI_REDIS_URL": REDIS_URL,
           "KEHAI_REDIS_PREFIX": redis_prefix, "KEHAI_SECRET_KEY": "shared-" + redis_prefix}

    def make(count: int = 2, tuning: dict | None = None) -> list[Server]:
        for _n in range(count):
            servers.append(Server(tmp_path / f"node{len(servers)}", env=env,
                                  tuning=tuning).start())
        return servers[-count:]

    yield make
    for server in servers:
        server.stop()
