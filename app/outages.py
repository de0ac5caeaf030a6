"""What "the database is down" looks like from Python: the errors every layer treats as an
outage (answered 503, logged once) rather than as a bug (a 500 with a traceback)."""

from __future__ import annotations

from peewee import InterfaceError, OperationalError

DATABASE_DOWN: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
