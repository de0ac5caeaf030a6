"""Read state derived from watermarks and the read log: who has read each message, and when
each of them first read it.

Only the shared watermark is read here: it moves only while a member sends read receipts, so
what is shown never includes a read made with receipts off (their real watermark, which
drives their own unread counts, may be further on). Its moves are logged (models/read_log.py):
a message's read time is the earliest logged read that reached it, so it never changes
after the fact, however often the reader reads on.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.db import run_db
from app.models import Conversation, Membership, Message, ReadLog, User

Mark = tuple[int, int, datetime | None, str, str]  # (user_id, up_to, at, display_name, username)
# (display_name, username, looks like another reader's name, when they first read it): names
# can look alike, usernames cannot, so where two could be confused the list shows @username
Reader = tuple[str, str, bool, datetime | None]


def _looks(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold().strip()


@dataclass
class ReadState:
    """Watermarks of the members who share their reads (others count as unread), and the
    logged reads that can be the first read of the messages in view."""

    direct: bool
    marks: list[Mark]
    # user id -> (up_to values ascending, their times): ascending in both, the watermark only
    # moves forward
    log: dict[int, tuple[list[int], list[datetime]]] = field(default_factory=dict)

    def first_read(self, user_id: int, message_id: int, latest: datetime | None
                   ) -> datetime | None:
        """When the reader first read the message: their earliest logged read reaching it
        (their latest read if none is logged, a read from before the log existed)."""
        ups, times = self.log.get(user_id, ([], []))
        i = bisect.bisect_left(ups, message_id)
        return times[i] if i < len(ups) else latest

    def for_message(self, message: Message) -> tuple[int, datetime | None, list[Reader]]:
        """(readers, when the first reader read it, who read it and when) for one message."""
        seen = Counter(_looks(name) for *_rest, name, _u in self.marks)
        who: list[Reader] = []
        for uid, up_to, latest, name, username in self.marks:
            if uid == message.author_id or up_to < message.id:
                continue
            who.append((name, username, seen[_looks(name)] > 1,
                        self.first_read(uid, message.id, latest)))
        who.sort(key=lambda r: (r[3] is None, r[3] or datetime.min))  # first readers first
        times = [r[3] for r in who if r[3] is not None]
        return len(who), (min(times) if times else None), who


def _watermarks(conversation_id: int) -> list[Mark]:
    rows = (
        Membership.select(Membership.user, Membership.shared_read_message_id,
                          Membership.shared_read_at, User.display_name, User.username)
        .join(User)
        .where((Membership.conversation == conversation_id) & (User.send_read_receipts == True))  # noqa: E712
        .tuples()
    )
    return list(rows)


def _state(conversation_id: int, direct: bool, ids: list[int]) -> ReadState:
    marks = _watermarks(conversation_id)
    log: dict[int, tuple[list[int], list[datetime]]] = defaultdict(lambda: ([], []))
    if ids:
        for uid, up_to, at in sorted(ReadLog.covering(conversation_id, min(ids), max(ids)),
                                     key=lambda e: (e[0], e[1])):
            log[uid][0].append(up_to)
            log[uid][1].append(at)
    return ReadState(direct, marks, dict(log))


async def read_state(conversation: Conversation, messages: Sequence[Message]) -> ReadState:
    """The read state of `messages` (a page, or the ones a read just reached)."""
    return await run_db(_state, conversation.id, conversation.is_direct,
                        [m.id for m in messages])
