"""Read receipts: a reader's watermark moves forward; the authors of what they read are told.

The reader's own tabs always hear of it (their unread badges clear); authors only of reads
made while the reader shares read receipts (the shared watermark, state.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.db import run_db
from app.members import members_of
from app.models import Conversation, Membership, Message, Outbox, User
from app.realtime import kinds
from app.realtime.hub import Hub
from app.receipts.state import read_state
from app.relay import Settle, once_key
from app.web.render import Renderer


@dataclass(frozen=True)
class Advance:
    """What one read changed: the reader's own watermark, and the one others may see."""

    moved: bool  # the reader's watermark moved: their own tabs clear the badge
    shared_before: int
    shared_after: int  # moves only while the reader sends read receipts
    row: int | None = None  # the outbox row announcing it (None: nothing to tell)

    @property
    def shared(self) -> bool:
        return self.shared_after > self.shared_before


def advance(conversation_id: int, reader: User, up_to: int) -> Advance | None:
    """Move the reader's watermarks forward; None if they are not a member or the message is
    not in this conversation."""
    membership = Membership.find(conversation_id, reader.id)
    if membership is None or Message.in_conversation(up_to, conversation_id) is None:
        return None
    before = membership.shared_read_message_id
    with Membership._meta.database.atomic():
        moved = Membership.advance(conversation_id, reader.id, up_to)
        # A read made with receipts off moves only the private watermark, for good: turning
        # receipts on later reveals nothing of it.
        shared = reader.send_read_receipts and Membership.share(conversation_id, reader.id, up_to)
        after = max(before, up_to) if shared else before
        row = (Outbox.record("message-read", conversation=conversation_id, reader=reader.id,
                             moved=moved, before=before, after=after)
               if moved or shared else None)
    return Advance(moved, before, after, row)


def _newly_read(conversation_id: int, reader_id: int, before: int, after: int
                ) -> tuple[Conversation, frozenset[int], list[Message]]:
    conversation = Conversation.get_by_id(conversation_id)
    members = members_of(conversation)
    changed = list(
        Message.select(Message, User).join(User)
        .where((Message.conversation == conversation_id) & (Message.id > before)
               & (Message.id <= after) & (Message.author != reader_id))
        .order_by(Message.id.desc()).limit(200)
    )
    return conversation, members, changed


class Receipts:
    def __init__(self, hub: Hub, renderer: Renderer, settle: Settle,
                 after_read: Callable[[int], None] = lambda reader_id: None) -> None:
        self.hub = hub
        self.renderer = renderer
        self.settle = settle
        self.after_read = after_read  # (reader id): their unread backlog shrank

    async def announce(self, conversation_id: int, reader: User, read: Advance) -> None:
        """Publish a committed read now; the relay does if this cannot."""
        if read.row is not None:
            await self.settle(read.row, self.messages_read(conversation_id, reader, read,
                                                           once_key(read.row)))

    async def republish(self, payload: dict[str, Any], key: str) -> None:
        """The relay's handler for a "message-read" outbox row."""
        reader = await run_db(User.get_or_none, User.id == int(payload["reader"]))
        if reader is not None:
            read = Advance(bool(payload["moved"]), int(payload["before"]),
                           int(payload["after"]))
            await self.messages_read(int(payload["conversation"]), reader, read, key)

    async def messages_read(self, conversation_id: int, reader: User, read: Advance,
                            key: str | None = None) -> None:
        """Others see their messages' read marks change; the reader's tabs clear the badge."""
        if read.moved:
            self.after_read(reader.id)
            own = await self.renderer.each_language("receipts/_own.html",
                                                    conversation_id=conversation_id)
            await self.hub.publish(kinds.MESSAGE_READ, [reader.id], own,
                                   once_key=key and f"{key}:own")
        if not read.shared:
            return
        conversation, members, changed = await run_db(
            _newly_read, conversation_id, reader.id, read.shared_before, read.shared_after)
        if not changed:
            return
        reads = await read_state(conversation, changed)
        html = await self.renderer.each_language(
            "receipts/_event.html", conversation=conversation, messages=changed, reads=reads)
        # Only the authors of the newly read messages see read marks: walk the few authors,
        # not the room's members.
        authors = {m.author_id for m in changed}
        await self.hub.publish(
            kinds.MESSAGE_READ, [a for a in authors if a in members and a != reader.id], html,
            once_key=key and f"{key}:authors")
