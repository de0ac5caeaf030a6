"""Messages: what people said, in the order they said it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from peewee import (
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    IntegrityError,
    TextField,
)

from app.compiled import Compiled
from app.models.base import BaseModel, utcnow
from app.models.conversation import Conversation
from app.models.outbox import NEW_MESSAGE, Outbox
from app.models.user import User

MAX_BODY = 4000
PAGE = 50


class Draft(NamedTuple):
    """A message as its sender's request hands it to the database."""

    conversation: Conversation
    author: User
    body: str
    client_id: str | None
    reply_to: Message | None = None  # what it answers: checked to be in the same room


class Message(BaseModel):
    conversation = ForeignKeyField(Conversation, backref="messages", on_delete="CASCADE")
    author = ForeignKeyField(User, backref="messages", on_delete="CASCADE")
    body = TextField()
    created = DateTimeField(default=utcnow)
    client_id = CharField(max_length=64, null=True)
    edited = DateTimeField(null=True)  # the last edit, if any
    deleted = DateTimeField(null=True)  # taken back: the body is gone, the place stays
    system = CharField(max_length=16, null=True)  # a line the app wrote: migrations/0007
    # The message this one answers (migrations/0008). An id, not a foreign key: reading
    # `quoted` (set by `with_quotes`) never costs a lazy query per message in a template.
    reply_to_id = IntegerField(null=True)
    quoted: Message | None = None

    class Meta:
        indexes = ((("conversation", "id"), False),
                   (("author", "conversation", "client_id"), True))

    @classmethod
    def post(cls, conversation: Conversation, author: User, body: str, client_id: str | None
             ) -> Posted:
        """Store a message once per (author, conversation, client_id), with the outbox row
        that announces it in the same transaction.

        Returns (message, created, the outbox row still to publish): a retry of a message
        whose announcement never went out (the process died in between) gets that row back.
        """
        result = cls.post_many([Draft(conversation, author, body, client_id)])[0]
        if isinstance(result, Exception):
            raise result
        return result

    @classmethod
    def post_many(cls, drafts: list[Draft]) -> list[Posted | Exception]:
        """`post` for several messages in one transaction (a group commit: bench/rooms.py),
        each in its own savepoint, so that one that fails (a retry's duplicate client_id, a
        room deleted meanwhile) undoes only itself and gets its own error back. Whatever
        fails the transaction itself (the database is down) is raised for all of them."""
        db = cls._meta.database
        if len(drafts) == 1:  # a transaction of its own, no savepoint needed
            return [cls._one(db.atomic, drafts[0])]
        with db.atomic():
            return [cls._one(db.atomic, draft) for draft in drafts]  # savepoints

    @classmethod
    def _one(cls, atomic: Callable[[], Any], draft: Draft) -> Posted | Exception:
        try:
            with atomic():
                return cls._store(draft)
        except IntegrityError as error:
            # A retry or a double submit of the same client_id: the first one won. Asked
            # once the failed insert is rolled back (PostgreSQL refuses any query before).
            return cls._again(draft, error)

    @classmethod
    def _store(cls, draft: Draft) -> Posted:
        conversation, author = draft.conversation, draft.author
        created = utcnow()
        stamp = cls.created.db_value(created)
        reply_to = draft.reply_to.id if draft.reply_to is not None else None
        message_id = _INSERT.insert(conversation.id, author.id, draft.body, stamp,
                                    draft.client_id, reply_to)
        _TOUCH.run(stamp, message_id, conversation.id, message_id)
        row = _ANNOUNCE.insert(NEW_MESSAGE, Outbox.encode(message=message_id), stamp)
        message = cls(__no_default__=1, id=message_id, conversation=conversation,
                      author=author, body=draft.body, created=created,
                      client_id=draft.client_id, reply_to_id=reply_to)
        message.quoted = draft.reply_to
        message._dirty.clear()
        return message, True, row

    @classmethod
    def _again(cls, draft: Draft, error: IntegrityError) -> Posted | Exception:
        """The message a retry repeats (created False), or the error if there is none (not
        a duplicate: the room or the author is gone)."""
        existing = cls.get_or_none((cls.author == draft.author)
                                   & (cls.conversation == draft.conversation)
                                   & (cls.client_id == draft.client_id))
        if existing is None or draft.client_id is None:
            return error
        with_quotes([existing])
        return existing, False, Outbox.pending_for_message(existing.id)

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
        return with_quotes(list(reversed(list(query))))

    @classmethod
    def latest(cls, conversation_id: int, before: int | None = None
               ) -> tuple[list[Message], bool]:
        """A page of PAGE messages (older than `before`) and whether older ones exist: one
        more than a page is fetched to know."""
        messages = cls.page(conversation_id, before, PAGE + 1)
        return messages[-PAGE:], len(messages) > PAGE

    @classmethod
    def sent_before(cls, author_id: int, conversation_id: int, client_id: str) -> bool:
        """Whether this client_id's message is already stored (a retry)."""
        return cls.select(cls.id).where((cls.author == author_id)
                                        & (cls.conversation == conversation_id)
                                        & (cls.client_id == client_id)).exists()

    @classmethod
    def in_conversation(cls, message_id: int, conversation_id: int) -> Message | None:
        return cls.get_or_none((cls.id == message_id) & (cls.conversation == conversation_id))


def quotable(message_id: int, conversation_id: int) -> Message | None:
    """The message `message_id` of that conversation, its author joined (a reply quotes its
    name), or None when it is not one of that conversation's."""
    return (Message.select(Message, User).join(User)
            .where((Message.id == message_id) & (Message.conversation == conversation_id))
            .first())


def with_quotes(messages: list[Message]) -> list[Message]:
    """`messages`, each reply's `quoted` set to what it answers (author joined): one query
    for all. A quoted message that is gone leaves `quoted` None (shown as deleted)."""
    wanted = {m.reply_to_id for m in messages if m.reply_to_id is not None}
    if wanted:
        found = {q.id: q for q in Message.select(Message, User).join(User)
                 .where(Message.id.in_(list(wanted)))}
        for m in messages:
            if m.reply_to_id is not None:
                m.quoted = found.get(m.reply_to_id)
    return messages


# (message, created, the outbox row still to publish)
Posted = tuple[Message, bool, int | None]

# A message's three writes, compiled once (app/compiled.py); the placeholders' order is the
# order of the parameters `_store` passes.
_INSERT = Compiled(lambda: Message.insert(conversation=0, author=0, body="", created=None,
                                          client_id=None, reply_to_id=None))
_TOUCH = Compiled(lambda: Conversation.update(last_activity=None, last_message_id=0).where(
    (Conversation.id == 0) & (Conversation.last_message_id < 0)))
_ANNOUNCE = Compiled(lambda: Outbox.insert(kind="", data="", created=None))
