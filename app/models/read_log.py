"""When each shared read happened (migrations/0006): a message's read time is the time it was
first read, not the reader's latest read."""

from __future__ import annotations

from datetime import datetime

from peewee import DateTimeField, IntegerField, fn

from app.models.base import BaseModel

# (user id, up_to, at): one move of a member's shared watermark
Entry = tuple[int, int, datetime]


class ReadLog(BaseModel):
    conversation_id = IntegerField()
    user_id = IntegerField()
    up_to = IntegerField()
    at = DateTimeField()

    class Meta:
        table_name = "read_log"
        indexes = ((("conversation_id", "up_to"), False),
                   (("conversation_id", "user_id", "up_to"), True))

    @classmethod
    def record(cls, conversation_id: int, user_id: int, up_to: int, at: datetime) -> None:
        """Call in the transaction that moved the shared watermark to `up_to`."""
        cls.insert(conversation_id=conversation_id, user_id=user_id, up_to=up_to,
                   at=at).on_conflict_ignore().execute()

    @classmethod
    def covering(cls, conversation_id: int, low: int, high: int) -> list[Entry]:
        """Every read that can be the first read of a message with an id in [low, high]: the
        reads that ended inside the range, and each reader's first read at or past `high`
        (later ones read nothing new of it). Bounded by the reads of one page, however
        long the conversation has gone on since."""
        inside = list(
            cls.select(cls.user_id, cls.up_to, cls.at)
            .where((cls.conversation_id == conversation_id) & (cls.up_to >= low)
                   & (cls.up_to < high)).tuples())
        first_past = (
            cls.select(cls.user_id, fn.MIN(cls.up_to).alias("up_to"))
            .where((cls.conversation_id == conversation_id) & (cls.up_to >= high))
            .group_by(cls.user_id))
        past = list(
            cls.select(cls.user_id, cls.up_to, cls.at)
            .join(first_past, on=((cls.user_id == first_past.c.user_id)
                                  & (cls.up_to == first_past.c.up_to)))
            .where(cls.conversation_id == conversation_id).tuples())
        return inside + past
