"""Read state derived from watermarks: who has read each message, and when.

Only the shared watermark is read here: it moves only while a member sends read receipts, so
what is shown never includes a read made with receipts off (their real watermark, which
drives their own unread counts, may be further on)."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from app.db import run_db
from app.models import Conversation, Membership, Message, User

Mark = tuple[int, int, datetime | None, str, str]  # (user_id, up_to, at, display_name, username)
# (display_name, username, looks like another reader's name): names can look alike,
# usernames cannot, so where two could be confused the list shows the @username too
Reader = tuple[str, str, bool]


def _looks(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold().strip()


@dataclass
class ReadState:
    """Watermarks of the members who share their reads (others count as unread)."""

    direct: bool
    marks: list[Mark]

    def for_message(self, message: Message) -> tuple[int, datetime | None, list[Reader]]:
        """(readers, when the latest reader read, who they are) for one message."""
        readers = [
            (at, name, username) for uid, up_to, at, name, username in self.marks
            if uid != message.author_id and up_to >= message.id
        ]
        seen = Counter(_looks(name) for *_rest, name, _u in self.marks)
        times = [at for at, _name, _username in readers if at is not None]
        who = [(name, username, seen[_looks(name)] > 1) for _at, name, username in readers]
        return len(readers), (max(times) if times else None), who


def _watermarks(conversation_id: int) -> list[Mark]:
    rows = (
        Membership.select(Membership.user, Membership.shared_read_message_id,
                          Membership.shared_read_at, User.display_name, User.username)
        .join(User)
        .where((Membership.conversation == conversation_id) & (User.send_read_receipts == True))  # noqa: E712
        .tuples()
    )
    return list(rows)


async def read_state(conversation: Conversation) -> ReadState:
    marks = await run_db(_watermarks, conversation.id)
    return ReadState(conversation.is_direct, marks)
