"""People: accounts, roles and their per-user settings."""

from __future__ import annotations

import hashlib
import re

from peewee import BooleanField, CharField, DateTimeField

from app.models.base import BaseModel, utcnow

USERNAME_RE = re.compile(r"^[a-z0-9_]{2,32}$")
ROLES = ("member", "operator")


class User(BaseModel):
    username = CharField(max_length=32, unique=True)  # stored lower-case: unique ignoring case
    display_name = CharField(max_length=64)
    password_hash = CharField(max_length=255)
    role = CharField(max_length=16, default="member")
    show_presence = BooleanField(default=True)
    send_read_receipts = BooleanField(default=True)
    created = DateTimeField(default=utcnow)

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    @property
    def initials(self) -> str:
        """One or two letters for the avatar."""
        parts = self.display_name.split()
        if len(parts) >= 2:
            return (parts[0][0] + parts[1][0]).upper()
        return (self.display_name[:2] or self.username[:2]).upper()

    @property
    def hue(self) -> int:
        """A stable avatar colour derived from the username, the same on every page."""
        return int(hashlib.sha1(self.username.encode()).hexdigest()[:4], 16) % 360

    @classmethod
    def by_username(cls, username: str) -> User | None:
        return cls.get_or_none(cls.username == username.strip().lower())

    @classmethod
    def by_usernames(cls, names: list[str]) -> list[User]:
        lowered = [n.strip().lower() for n in names if n.strip()]
        return list(cls.select().where(cls.username.in_(lowered))) if lowered else []

    @classmethod
    def operator_ids(cls) -> list[int]:
        return [u.id for u in cls.select(cls.id).where(cls.role == "operator")]
