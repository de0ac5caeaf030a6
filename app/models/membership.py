"""Who belongs to which conversation, and how far each of them has read."""

from __future__ import annotations

from peewee import DateTimeField, ForeignKeyField, IntegerField

from app.models.base import BaseModel, utcnow
from app.models.conversation import Conversation
from app.models.read_log import ReadLog
from app.models.user import User


class Membership(BaseModel):
    user = ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    conversation = ForeignKeyField(Conversation, backref="memberships", on_delete="CASCADE")
    joined = DateTimeField(default=utcnow)
    last_read_message_id = IntegerField(default=0)  # how far they read: their unread counts
    last_read_at = DateTimeField(null=True)
    # How far others may know they read: moved only while they send read receipts, so a read
    # made with receipts off is never revealed later (migrations/0004_shared_reads.py).
    shared_read_message_id = IntegerField(default=0)
    shared_read_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("conversation", "user"), True), (("user", "conversation"), False))

    @classmethod
    def find(cls, conversation_id: int, user_id: int) -> Membership | None:
        return cls.get_or_none((cls.conversation == conversation_id) & (cls.user == user_id))

    @classmethod
    def member_ids(cls, conversation_id: int) -> list[int]:
        # A big room's member list is read on every message it receives: fetch the rows in
        # the driver's C code (peewee's row-by-row iteration cost ~2.5 us a member, 25 ms for
        # a room of 10,000, on the event loop's GIL).
        query = cls.select(cls.user).where(cls.conversation == conversation_id)
        return [user_id for (user_id,) in cls._meta.database.execute(query).fetchall()]

    @classmethod
    def conversation_for(cls, conversation_id: int, user_id: int) -> Conversation | None:
        """The conversation if the user is a member of it, in one query."""
        return (
            Conversation.select()
            .join(cls)
            .where((cls.conversation == conversation_id) & (cls.user == user_id))
            .first()
        )

    @classmethod
    def members(cls, conversation_id: int) -> list[User]:
        return list(
            User.select()
            .join(cls)
            .where(cls.conversation == conversation_id)
            .order_by(User.display_name, User.id)  # the page's order (presence/audience.py)
        )

    @classmethod
    def advance(cls, conversation_id: int, user_id: int, up_to: int) -> bool:
        """Move the read watermark forward only; True if it moved."""
        moved = (
            cls.update(last_read_message_id=up_to, last_read_at=utcnow())
            .where(
                (cls.conversation == conversation_id)
                & (cls.user == user_id)
                & (cls.last_read_message_id < up_to)
            )
            .execute()
        )
        return moved > 0

    @classmethod
    def share(cls, conversation_id: int, user_id: int, up_to: int) -> bool:
        """Move the shared watermark forward only (a read made with receipts on), and log
        when: call inside a transaction."""
        at = utcnow()
        moved = (
            cls.update(shared_read_message_id=up_to, shared_read_at=at)
            .where(
                (cls.conversation == conversation_id)
                & (cls.user == user_id)
                & (cls.shared_read_message_id < up_to)
            )
            .execute()
        )
        if moved:
            ReadLog.record(conversation_id, user_id, up_to, at)
        return moved > 0
