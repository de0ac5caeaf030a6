"""Read receipts: a reader's watermark moves forward; the authors of what they read are told.

The reader's own tabs always hear of it (their unread badges clear); authors only when the
reader shares read receipts.
"""

from __future__ import annotations

from typing import Any

from app.db import database, run_db
from app.members import members_of
from app.models import Conversation, Membership, Message, Outbox, User
from app.realtime import kinds
from app.realtime.hub import Hub
from app.receipts.state import read_state
from app.relay import Outage, once_key, settle
from app.web.render import Renderer

# (previous watermark, new watermark, the outbox row announcing the move or None)
Advance = tuple[int, int, int | None]


def advance(conversation_id: int, user_id: int, up_to: int) -> Advance | None:
    """Move the reader's watermark, with its outbox row in the same transaction; None if
    not a member, new watermark -1 if the message is not in this conversation."""
    membership = Membership.find(conversation_id, user_id)
    if membership is None:
        return None
    if Message.in_conversation(up_to, conversation_id) is None:
        return (membership.last_read_message_id, -1, None)
    before = membership.last_read_message_id
    with database.atomic():
        if not Membership.advance(conversation_id, user_id, up_to):
            return before, max(before, up_to), None  # backwards or repeated: nothing to tell
        row = Outbox.record("message-read", conversation=conversation_id, reader=user_id,
                            before=before, after=up_to)
    return before, up_to, row


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
    def __init__(self, hub: Hub, renderer: Renderer, outage: Outage) -> None:
        self.hub = hub
        self.renderer = renderer
        self.outage = outage

    async def announce(self, row: int, conversation_id: int, reader: User, before: int,
                       after: int) -> None:
        """Publish a committed read mark now; the relay does if this cannot."""
        await settle(row, self.messages_read(conversation_id, reader, before, after,
                                             once_key(row)), self.outage)

    async def republish(self, payload: dict[str, Any], key: str) -> None:
        """The relay's handler for a "message-read" outbox row."""
        reader = await run_db(User.get_or_none, User.id == int(payload["reader"]))
        if reader is not None:
            await self.messages_read(int(payload["conversation"]), reader,
                                     int(payload["before"]), int(payload["after"]), key)

    async def messages_read(self, conversation_id: int, reader: User, before: int,
                            after: int, key: str | None = None) -> None:
        """Others see their messages' read marks change; the reader's tabs clear the badge."""
        conversation, members, changed = await run_db(
            _newly_read, conversation_id, reader.id, before, after)
        own = await self.renderer.each_language("receipts/_own.html",
                                                conversation_id=conversation_id)
        await self.hub.publish(kinds.MESSAGE_READ, [reader.id], own,
                               once_key=key and f"{key}:own")
        if not reader.send_read_receipts or not changed:
            return
        reads = await read_state(conversation)
        html = await self.renderer.each_language(
            "receipts/_event.html", conversation=conversation, messages=changed, reads=reads)
        # Only the authors of the newly read messages see read marks: walk the few authors,
        # not the room's members.
        authors = {m.author_id for m in changed}
        await self.hub.publish(
            kinds.MESSAGE_READ, [a for a in authors if a in members and a != reader.id], html,
            once_key=key and f"{key}:authors")
