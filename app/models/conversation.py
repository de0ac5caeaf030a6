"""Conversations: a direct chat between two people, or a titled group."""

from __future__ import annotations

from datetime import datetime

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
