"""The database handle and the one way the async app talks to it.

Decided once (docs/ARCHITECTURE.md, "Stack"): sync peewee behind a thread pool. Every query
runs in `run_db`, inside a connection context, so no request holds a connection while it
awaits and no stream ever holds one at all.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar
from urllib.parse import urlparse

from peewee import Database, DatabaseProxy, SqliteDatabase
from playhouse import db_url
from playhouse.pool import PooledPostgresqlDatabase

T = TypeVar("T")
A = TypeVar("A")
R = TypeVar("R")

database = DatabaseProxy()
_executor: ThreadPoolExecutor | None = None


# WAL lets page reads run while a message is being written; busy_timeout rides out the short
# write locks instead of failing with "database is locked".
SQLITE_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000,
                  "synchronous": "normal"}
SQLITE_THREADS = 1
POSTGRES = ("postgres", "postgresql", "postgres+pool", "postgresql+pool")


def open_database(url: str, threads: int = 8) -> Database:
    """Build a peewee database from a URL with `playhouse.db_url`: `sqlite:///relative.db`,
    `sqlite:////absolute.db`, or `postgresql://user:password@host:port/db?sslmode=require&...`,
    where every query parameter reaches the driver (libpq's sslmode, application_name,
    connect_timeout, options, ...) or the pool (max_connections, stale_timeout, timeout)."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        return db_url.connect(url, pragmas=SQLITE_PRAGMAS)
    if scheme in POSTGRES:
        # Always pooled: every query borrows a connection for its duration (run_db).
        kwargs: dict[str, Any] = {"max_connections": threads + 2, "stale_timeout": 300,
                                  "timeout": 10}
        kwargs.update(db_url.parse(url, unquote_password=True, unquote_user=True))
        if not kwargs.get("database"):
            raise ValueError(f"{scheme}:// URL without a database name: .../dbname")
        return PooledPostgresqlDatabase(**kwargs)
    raise ValueError(f"unsupported database URL scheme: {scheme!r}")


def init(url: str, threads: int = 8) -> Database:
    """Point the models at the database and start the worker threads."""
    global _executor
    db = open_database(url, threads)
    database.initialize(db)
    if isinstance(db, SqliteDatabase):
        # SQLite takes one writer at a time: more threads only queue on its write lock, in
        # busy-handler sleeps of up to 100 ms, and trade the GIL back and forth. One thread
        # measured 4 ms POST p50 at 200 messages/s where eight gave 165 ms (bench/rooms.py).
        threads = SQLITE_THREADS
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kehai-db")
    return db


def shutdown() -> None:
    """Stop the worker threads and close the pool (app shutdown)."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None
    if database.obj is not None and hasattr(database.obj, "close_all"):
        database.obj.close_all()
    elif database.obj is not None and not database.obj.is_closed():
        database.obj.close()


def _in_connection(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    if isinstance(database.obj, SqliteDatabase):
        # Each pool thread keeps its own SQLite connection open: opening one (and setting
        # its pragmas) cost more than most queries. PostgreSQL connections go back to the
        # pool after every call instead.
        database.connect(reuse_if_open=True)
        return fn(*args, **kwargs)
    with database.connection_context():
        return fn(*args, **kwargs)


async def run_db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking query function in the pool, with a connection for its duration."""
    loop = asyncio.get_running_loop()
    call = functools.partial(_in_connection, fn, *args, **kwargs)
    return await loop.run_in_executor(_executor, call)


async def read_now(fn: Callable[..., T], *args: Any) -> T:
    """A cheap indexed read of a few rows (app/hot_reads.py). On SQLite it runs at once on
    the event loop: a WAL read never waits for a writer, and the hop to the pool and back
    cost more CPU than the query. PostgreSQL is a network round trip away: the pool."""
    if isinstance(database.obj, SqliteDatabase):
        return _in_connection(fn, *args)
    return await run_db(fn, *args)


class Grouped(Generic[A, R]):
    """Calls that arrive while a batch is in the database go to it together, next: a group
    commit. `run_many` (a blocking function, run by `run_db`) gets a list of items and returns
    one result or exception per item, in order.

    Nothing waits to fill a batch: a call that finds the database idle starts one at once, so
    a lone message is as fast as before, and under load N messages cost one hop to the pool
    and one commit instead of N (bench/rooms.py)."""

    def __init__(self, run_many: Callable[[list[A]], list[R | Exception]], limit: int = 64
                 ) -> None:
        self.run_many = run_many
        self.limit = limit
        self._waiting: list[tuple[A, asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def __call__(self, item: A) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())
        return await future

    async def _work(self) -> None:
        batch: list[tuple[A, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch = self._waiting[:self.limit]
                del self._waiting[:self.limit]
                try:
                    results = await run_db(self.run_many, [item for item, _ in batch])
                except Exception as error:  # the transaction failed: every caller is told
                    results = [error] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # its caller went away; what it sent is stored
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._worker = None
            for _, future in batch + self._waiting:  # only if this task was cancelled
                if not future.done():
                    future.cancel()
            self._waiting = []
