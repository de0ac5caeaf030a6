"""Login sessions: the cookie holds only a random id; logout deletes the row."""

from __future__ import annotations

import secrets

from peewee import CharField, DateTimeField, ForeignKeyField

from app.models.base import BaseModel, utcnow
from app.models.user import User


class Session(BaseModel):
    id = CharField(max_length=64, primary_key=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created = DateTimeField(default=utcnow)

    @classmethod
    def start(cls, user: User) -> Session:
        return cls.create(id=secrets.token_urlsafe(32), user=user)

    @classmethod
    def user_for(cls, session_id: str) -> User | None:
        """The signed-in user of a live session, or None if it was revoked."""
        row = (
            cls.select(cls, User)
            .join(User)
            .where(cls.id == session_id)
            .first()
        )
        return row.user if row else None

    @classmethod
    def user_id_for(cls, session_id: str) -> int | None:
        """Just the user id of a live session: what a stream needs to open. Thousands of
        tabs reconnect at once after a restart, so no model objects, no join."""
        query = cls.select(cls.user).where(cls.id == session_id).limit(1)
        row = cls._meta.database.execute(query).fetchone()
        return int(row[0]) if row else None

    @classmethod
    def revoke(cls, session_id: str) -> int:
        return cls.delete().where(cls.id == session_id).execute()

    @classmethod
    def revoke_others(cls, user: User, keep: str) -> list[str]:
        ids = [s.id for s in cls.select(cls.id).where((cls.user == user) & (cls.id != keep))]
        if ids:
            cls.delete().where(cls.id.in_(ids)).execute()
        return ids
