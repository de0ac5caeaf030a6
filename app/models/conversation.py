"""Conversations: a direct chat between two people, or a titled group."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from peewee import CharField, DateTimeField, IntegerField

from app.models.base import BaseModel, utcnow

DIRECT, GROUP = "direct", "group"


class Conversation(BaseModel):
    kind = CharField(max_length=8, default=GROUP)
    title = CharField(max_length=80, null=True)
    # "small:large" user ids of a direct chat: one direct chat per pair, enforced by the index.
    direct_key = CharField(max_length=40, null=True, unique=True)
    created = DateTimeField(default=utcnow)
    last_activity = DateTimeField(default=utcnow, index=True)
    last_message_id = IntegerField(default=0)
    # Bumped by database triggers whenever a membership row of this room changes (see
    # migrations/0002): app.members trusts its cached member list only while it is unchanged.
    members_version = IntegerField(default=0)

    def save(self, force_insert: bool = False, only: Any = None) -> Any:
        # Never write members_version back: a copy read earlier would rewind it to a number
        # the members cache may already hold for a different member list.
        if only is None and not force_insert and self._pk is not None:
            fields = self._meta.sorted_fields
            only = [f for f in fields if f is not Conversation.members_version]
        return super().save(force_insert=force_insert, only=only)

    @property
    def is_direct(self) -> bool:
        return self.kind == DIRECT

    @staticmethod
    def direct_key_for(a: int, b: int) -> str:
        return f"{min(a, b)}:{max(a, b)}"

    def touch(self, message_id: int, when: datetime) -> None:
        """Move the conversation to the top of everyone's list."""
        (
            Conversation.update(last_activity=when, last_message_id=message_id)
            .where((Conversation.id == self.id) & (Conversation.last_message_id < message_id))
            .execute()
        )
