"""The seed's presence table: whether a user is online and when they were last seen."""

from __future__ import annotations

from datetime import datetime

from peewee import BooleanField, DateTimeField, ForeignKeyField

from app.models.base import BaseModel
from app.models.user import User


class UserStatus(BaseModel):
    user = ForeignKeyField(User, primary_key=True, on_delete="CASCADE")
    is_online = BooleanField(default=False, index=True)
    last_seen = DateTimeField(null=True)

    @classmethod
    def record(cls, user_id: int, online: bool, seen: datetime | None) -> None:
        """Upsert one user's row."""
        values = {"is_online": online}
        if seen is not None:
            values["last_seen"] = seen
        (
            cls.insert(user=user_id, is_online=online, last_seen=seen)
            .on_conflict(conflict_target=[cls.user], update=values)
            .execute()
        )

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
