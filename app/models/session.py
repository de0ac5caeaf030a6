"""Login sessions: the cookie holds only a random id; logout deletes the row.

A session also ends on the server by itself: `max_s` after it began (absolute) or `idle_s`
after it was last used. `last_seen` is written at most once per TOUCH_S, so a busy user does
not turn every page view into a write.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import CharField, DateTimeField, Expression, ForeignKeyField, fn

from app.models.base import BaseModel, utcnow
from app.models.user import User

TOUCH_S = 3600.0


@dataclass(frozen=True)
class Lifetime:
    """How long a session lives: since it began, and since it was last used."""

    idle_s: float = 14 * 86400.0
    max_s: float = 30 * 86400.0


class Session(BaseModel):
    id = CharField(max_length=64, primary_key=True)
    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created = DateTimeField(default=utcnow)
    last_seen = DateTimeField(default=utcnow, null=True)  # null: rows from before 0005

    @classmethod
    def start(cls, user: User) -> Session:
        return cls.create(id=secrets.token_urlsafe(32), user=user)

    @classmethod
    def _live(cls, lifetime: Lifetime, now: datetime) -> Expression:
        used = fn.COALESCE(cls.last_seen, cls.created)
        return ((cls.created > now - timedelta(seconds=lifetime.max_s))
                & (used > now - timedelta(seconds=lifetime.idle_s)))

    @classmethod
    def user_for(cls, session_id: str, lifetime: Lifetime) -> User | None:
        """The signed-in user of a live session (None if revoked or expired); marks it used."""
        now = utcnow()
        row = (
            cls.select(cls, User)
            .join(User)
            .where((cls.id == session_id) & cls._live(lifetime, now))
            .first()
        )
        if row is None:
            return None
        if (now - (row.last_seen or row.created)).total_seconds() >= TOUCH_S:
            cls.update(last_seen=now).where(cls.id == session_id).execute()
        return row.user

    @classmethod
    def revoke(cls, session_id: str) -> int:
        return cls.delete().where(cls.id == session_id).execute()

    @classmethod
    def revoke_others(cls, user: User, keep: str) -> list[str]:
        ids = [s.id for s in cls.select(cls.id).where((cls.user == user) & (cls.id != keep))]
        if ids:
            cls.delete().where(cls.id.in_(ids)).execute()
        return ids

    @classmethod
    def live_among(cls, session_ids: list[str], lifetime: Lifetime) -> set[str]:
        """Which of these sessions still exist and have not expired: one query per 500."""
        live: set[str] = set()
        now = utcnow()
        for start in range(0, len(session_ids), 500):  # well under any driver's parameter limit
            chunk = session_ids[start:start + 500]
            query = cls.select(cls.id).where(cls.id.in_(chunk) & cls._live(lifetime, now))
            live.update(row[0] for row in cls._meta.database.execute(query).fetchall())
        return live
