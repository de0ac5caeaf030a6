"""The outbox: what was committed and must still be published, written in the same
transaction as the message or read mark it announces (migrations/0003)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from peewee import CharField, DateTimeField, TextField

from app.models.base import BaseModel, utcnow

NEW_MESSAGE = "new-message"  # the row that announces a stored message


class Outbox(BaseModel):
    kind = CharField(max_length=32)
    data = TextField()
    created = DateTimeField(default=utcnow)
    published = DateTimeField(null=True)
    claimed_until = DateTimeField(null=True)

    class Meta:
        table_name = "outbox"

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.data)  # type: ignore[no-any-return]

    @staticmethod
    def encode(**data: Any) -> str:
        """A row's payload as stored: the one encoding rows are written and found by."""
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def record(cls, kind: str, **data: Any) -> int:
        """Call inside the transaction that stores what `data` refers to."""
        return cls.insert(kind=kind, data=cls.encode(**data)).execute()

    @classmethod
    def claim(cls, older_than_s: float, lease_s: float, limit: int = 100) -> list[Outbox]:
        """Unpublished rows no other process holds, older than `older_than_s` (the request
        that wrote a row publishes it itself first), leased to this caller for `lease_s`.

        The conditions are repeated on the UPDATE itself: on PostgreSQL a second process
        waiting on the same rows re-checks them once the first commits, and skips them."""
        now = utcnow()
        free = (cls.published.is_null() & (cls.claimed_until.is_null() | (cls.claimed_until < now)))
        ids = [r.id for r in cls.select(cls.id).where(
            free & (cls.created <= now - timedelta(seconds=older_than_s)))
            .order_by(cls.id).limit(limit)]
        if not ids:
            return []
        until = now + timedelta(seconds=lease_s)
        with cls._meta.database.atomic():
            cls.update(claimed_until=until).where(cls.id.in_(ids) & free).execute()
            return list(cls.select().where(cls.id.in_(ids) & (cls.claimed_until == until))
                        .order_by(cls.id))

    @classmethod
    def done(cls, row_ids: list[int]) -> None:
        cls.update(published=utcnow()).where(cls.id.in_(row_ids)).execute()

    @classmethod
    def release(cls, row_ids: list[int]) -> None:
        """Give claimed rows back at once (publishing failed; another round may take them)."""
        cls.update(claimed_until=None).where(cls.id.in_(row_ids)).execute()

    @classmethod
    def pending_for_message(cls, message_id: int) -> int | None:
        """The unpublished outbox row announcing this message, if any (a retried send)."""
        row = (cls.select(cls.id).where(cls.published.is_null() & (cls.kind == NEW_MESSAGE)
                                        & (cls.data == cls.encode(message=message_id)))
               .first())
        return row.id if row else None

    @classmethod
    def purge(cls, older_than_s: float) -> int:
        """Published rows are kept a while for inspection, then dropped."""
        horizon = utcnow() - timedelta(seconds=older_than_s)
        return cls.delete().where(cls.published < horizon).execute()
