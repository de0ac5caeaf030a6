"""Messages: what people said, in the order they said it."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegrityError, TextField

from app.models.base import BaseModel, utcnow
from app.models.conversation import Conversation
from app.models.outbox import Outbox
from app.models.user import User

MAX_BODY = 4000
PAGE = 50


class Message(BaseModel):
    conversation = ForeignKeyField(Conversation, backref="messages", on_delete="CASCADE")
    author = ForeignKeyField(User, backref="messages", on_delete="CASCADE")
    body = TextField()
    created = DateTimeField(default=utcnow)
    client_id = CharField(max_length=64, null=True)
    edited = DateTimeField(null=True)  # the last edit, if any
    deleted = DateTimeField(null=True)  # taken back: the body is gone, the place stays
    system = CharField(max_length=16, null=True)  # a line the app wrote: migrations/0007

    class Meta:
        indexes = ((("conversation", "id"), False),
                   (("author", "conversation", "client_id"), True))

    @classmethod
    def post(cls, conversation: Conversation, author: User, body: str, client_id: str | None
             ) -> tuple[Message, bool, int | None]:
        """Store a message once per (author, conversation, client_id), with the outbox row
        that announces it in the same transaction.

        Returns (message, created, the outbox row still to publish): a retry of a message
        whose announcement never went out (the process died in between) gets that row back.
        """
        same = ((cls.author == author) & (cls.conversation == conversation)
                & (cls.client_id == client_id))
        # No lookup first: the unique index answers a retry (below), and a fresh message,
        # nearly every call, saves a query.
        try:
            with cls._meta.database.atomic():
                message = cls.create(
                    conversation=conversation, author=author, body=body, client_id=client_id
                )
                conversation.touch(message.id, message.created)
                row = Outbox.record("new-message", message=message.id)
        except IntegrityError:
            # A retry or a double submit of the same client_id: the first one won.
            existing = cls.get(same)
            return existing, False, Outbox.pending_for_message(existing.id)
        message.author = author
        return message, True, row

    @classmethod
    def page(cls, conversation_id: int, before: int | None = None, limit: int = PAGE
             ) -> list[Message]:
        """The newest `limit` messages (older than `before`), oldest first, authors joined."""
        query = (
            cls.select(cls, User)
            .join(User)
            .where(cls.conversation == conversation_id)
            .order_by(cls.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(cls.id < before)
        return list(reversed(list(query)))

    @classmethod
    def latest(cls, conversation_id: int, before: int | None = None
               ) -> tuple[list[Message], bool]:
        """A page of PAGE messages (older than `before`) and whether older ones exist: one
        more than a page is fetched to know."""
        messages = cls.page(conversation_id, before, PAGE + 1)
        return messages[-PAGE:], len(messages) > PAGE

    @classmethod
    def in_conversation(cls, message_id: int, conversation_id: int) -> Message | None:
        return cls.get_or_none((cls.id == message_id) & (cls.conversation == conversation_id))
