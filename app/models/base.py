"""The base model every table shares."""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import Model

from app.db import database


def utcnow() -> datetime:
    """Naive UTC now: what every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
