"""Read state derived from watermarks: who has read each message, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.db import run_db
from app.models import Conversation, Membership, Message, User

Mark = tuple[int, int, datetime | None, str]  # (user_id, up_to, at, display_name)


@dataclass
class ReadState:
    """Watermarks of the members who share their reads (others count as unread)."""

    direct: bool
    marks: list[Mark]

    def for_message(self, message: Message) -> tuple[int, datetime | None, list[str]]:
        """(readers, when the latest reader read, their names) for one message."""
        readers = [
            (at, name) for uid, up_to, at, name in self.marks
            if uid != message.author_id and up_to >= message.id
        ]
        times = [at for at, _name in readers if at is not None]
        return len(readers), (max(times) if times else None), [n for _at, n in readers]


def _watermarks(conversation_id: int) -> list[Mark]:
    rows = (
        Membership.select(Membership.user, Membership.last_read_message_id,
                          Membership.last_read_at, User.display_name)
        .join(User)
        .where((Membership.conversation == conversation_id) & (User.send_read_receipts == True))  # noqa: E712
        .tuples()
    )
    return list(rows)


async def read_state(conversation: Conversation) -> ReadState:
    marks = await run_db(_watermarks, conversation.id)
    return ReadState(conversation.is_direct, marks)
