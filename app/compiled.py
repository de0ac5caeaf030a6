"""SQL compiled once per open database: the hot path's queries without peewee's per-call cost.

Peewee builds a query's SQL (and, for a select, its model objects) on every call; for the
one-row reads and writes of the message path that cost several times the query itself
(bench/rooms.py; a message's three writes: 420 of 640 µs). A `Compiled` asks peewee for the
SQL once, for whichever database is open, and each call then only binds its parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peewee import Field, Model, Query

from app.db import database


class Compiled:
    """One query's SQL for the open database, compiled on first use with placeholder values
    whose order is the order of the call's parameters."""

    def __init__(self, build: Callable[[], Query]) -> None:
        self.build = build
        self.key: tuple[int, str] | None = None
        self.sql = ""

    def _compiled(self) -> str:
        db = database.obj
        key = (id(db), type(db).__name__)
        if key != self.key:  # tests open a fresh database per app
            self.sql, _ = self.build().sql()
            self.key = key
        return self.sql

    def _run(self, params: tuple[Any, ...]) -> Any:
        return database.execute_sql(self._compiled(), params)

    def run_many(self, rows: list[tuple[Any, ...]]) -> None:
        """The statement once per row, in one call to the driver (executemany)."""
        database.cursor().executemany(self._compiled(), rows)

    def row(self, *params: Any) -> tuple[Any, ...] | None:
        return self._run(params).fetchone()  # type: ignore[no-any-return]

    def rows(self, *params: Any) -> list[tuple[Any, ...]]:
        return self._run(params).fetchall()  # type: ignore[no-any-return]

    def run(self, *params: Any) -> int:
        """An UPDATE or DELETE: the rows it changed."""
        return self._run(params).rowcount  # type: ignore[no-any-return]

    def insert(self, *params: Any) -> int:
        """An INSERT: the new row's id (PostgreSQL's SQL has peewee's RETURNING clause)."""
        cursor = self._run(params)
        if database.returning_clause:
            return int(cursor.fetchone()[0])
        return int(cursor.lastrowid)


def model(cls: type[Model], fields: list[Field], values: tuple[Any, ...]) -> Any:
    """A model object as a select would have made it (no field marked as changed)."""
    obj = cls(__no_default__=1, **{f.name: f.python_value(v) for f, v in zip(fields, values,
                                                                           strict=True)})
    obj._dirty.clear()
    return obj
