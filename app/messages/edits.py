"""Fixing and taking back one's own messages, stored with the outbox row that announces the
change in the same transaction (as a new message is: a crash after commit loses no event).

A deleted message keeps its place (and id: replies, read marks and unread counts stay
consistent) but loses its text for good: "deleted" means nobody can read it any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from app.models import Conversation, Message, Outbox, User
from app.models.base import utcnow

CHANGED = "message-changed"  # the outbox row's kind


class Refused(Enum):
    MISSING = "missing"  # not in this conversation
    NOT_YOURS = "not-yours"
    DELETED = "deleted"  # already taken back: nothing to edit


@dataclass(frozen=True)
class Change:
    message: Message
    row: int | None  # the outbox row to publish; None: nothing changed (a repeated edit)


def _own(conversation: Conversation, author: User, message_id: int) -> Message | Refused:
    message = (Message.select(Message, User).join(User)
               .where((Message.id == message_id) & (Message.conversation == conversation.id))
               .first())
    if message is None or message.system:  # a line the app wrote is nobody's to change
        return Refused.MISSING
    if message.author_id != author.id:
        return Refused.NOT_YOURS
    return message


def edit(conversation: Conversation, author: User, message_id: int, body: str
         ) -> Change | Refused:
    message = _own(conversation, author, message_id)
    if isinstance(message, Refused):
        return message
    if message.deleted:
        return Refused.DELETED
    if message.body == body:
        return Change(message, None)
    with Message._meta.database.atomic():
        message.body, message.edited = body, utcnow()
        # The guard on `deleted` makes a delete that raced this edit win: no text comes back.
        if not Message.update(body=body, edited=message.edited).where(
                (Message.id == message.id) & Message.deleted.is_null()).execute():
            return Refused.DELETED
        row = Outbox.record(CHANGED, message=message.id)
    return Change(message, row)


def delete(conversation: Conversation, author: User, message_id: int) -> Change | Refused:
    message = _own(conversation, author, message_id)
    if isinstance(message, Refused):
        return message
    if message.deleted:  # a double click: already done, tell nobody again
        return Change(message, None)
    with Message._meta.database.atomic():
        message.body, message.deleted = "", utcnow()
        Message.update(body="", deleted=message.deleted).where(
            Message.id == message.id).execute()
        row = Outbox.record(CHANGED, message=message.id)
    return Change(message, row)


def is_last(message: Message) -> bool:
    """Whether the conversation list shows this message as its preview."""
    return bool(Conversation.select().where(
        (Conversation.id == message.conversation_id)
        & (Conversation.last_message_id == message.id)).exists())
