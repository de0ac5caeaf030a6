"""Apply pending migrations exactly once, even when several processes start together."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from peewee import Database, PostgresqlDatabase, SqliteDatabase
from playhouse.migrations import Runner

from app.config import ROOT

MIGRATIONS = ROOT / "migrations"
_PG_LOCK_KEY = 0x6B65686169  # "kehai": one advisory lock id for the whole cluster


@contextlib.contextmanager
def _exclusive(db: Database) -> Iterator[None]:
    """A lock every process contending for the same database agrees on."""
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql("SELECT pg_advisory_lock(%s)", (_PG_LOCK_KEY,))
        try:
            yield
        finally:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (_PG_LOCK_KEY,))
    elif isinstance(db, SqliteDatabase) and db.database != ":memory:":
        lock_path = Path(str(db.database) + ".migrate-lock")
        with open(lock_path, "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    else:
        yield


def apply_pending(db: Database) -> list[str]:
    """Run every migration not yet recorded; returns the names applied now."""
    with db.connection_context(), _exclusive(db):
        return Runner(db, directory=str(MIGRATIONS)).up()
