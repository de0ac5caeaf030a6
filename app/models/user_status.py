"""The seed's presence table: whether a user is online and when they were last seen."""

from __future__ import annotations

from datetime import datetime

from peewee import EXCLUDED, BooleanField, DateTimeField, ForeignKeyField, fn

from app.compiled import Compiled
from app.models.base import BaseModel
from app.models.user import User


class UserStatus(BaseModel):
    user = ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    is_online = BooleanField(default=False, index=True)
    last_seen = DateTimeField(null=True)

    @classmethod
    def record(cls, rows: list[tuple[int, bool, datetime | None]]) -> None:
        """Upsert each (user id, online, last seen) row; a last seen of None keeps the one
        stored. One compiled statement for all: a reconnect storm writes thousands."""
        _RECORD.run_many([(user_id, online, cls.last_seen.db_value(seen))
                          for user_id, online, seen in rows])

    @classmethod
    def clear_all(cls) -> int:
        """A fresh start: nobody is connected to a process that just began."""
        return cls.update(is_online=False).where(cls.is_online == True).execute()  # noqa: E712

    @classmethod
    def last_seen_of(cls, user_ids: list[int]) -> dict[int, datetime | None]:
        """When each user was last seen, as stored."""
        if not user_ids:
            return {}
        rows = cls.select(cls.user, cls.last_seen).where(cls.user.in_(user_ids)).tuples()
        return dict(rows)


_RECORD = Compiled(lambda: UserStatus.insert(user=0, is_online=False, last_seen=None).on_conflict(
    conflict_target=[UserStatus.user],
    update={UserStatus.is_online: EXCLUDED.is_online,
            UserStatus.last_seen: fn.COALESCE(EXCLUDED.last_seen, UserStatus.last_seen)}))
