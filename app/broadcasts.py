"""Broadcasts named after what happened; views call them explicitly after committing."""

from __future__ import annotations

from app.db import run_db
from app.members import current_members, members_of
from app.models import Conversation, Message
from app.realtime import kinds
from app.realtime.render import render_each_language
from app.services import services


async def message_created(message: Message, conversation: Conversation) -> None:
    """Render the message once per language and send the same bytes to every member."""
    # `conversation` was read before the message was stored: a member removed since then
    # must not get it, so look at the room's version again (one primary-key read).
    members = await run_db(current_members, conversation.id)
    html = await render_each_language(
        "messages/_new_message_event.html", m=message, conversation=conversation, reads=None
    )
    await services().hub.publish(kinds.NEW_MESSAGE, members, html)
    recent = services().extras.get("recent_messages")
    if recent is not None:
        recent.add()


def _read_marks(conversation_id: int, reader_id: int, before: int, after: int
                ) -> tuple[Conversation, frozenset[int], list[Message]]:
    from app.models import User

    conversation = Conversation.get_by_id(conversation_id)
    members = members_of(conversation)
    changed = list(
        Message.select(Message, User).join(User)
        .where((Message.conversation == conversation_id) & (Message.id > before)
               & (Message.id <= after) & (Message.author != reader_id))
        .order_by(Message.id.desc()).limit(200)
    )
    return conversation, members, changed


async def messages_read(conversation_id: int, reader: object, before: int, after: int) -> None:
    """Others see their messages' read marks change; the reader's tabs clear the unread badge."""
    from app.receipts import read_state

    reader_id: int = reader.id  # type: ignore[attr-defined]
    conversation, members, changed = await run_db(
        _read_marks, conversation_id, reader_id, before, after)
    hub = services().hub
    own = await render_each_language("receipts/_own.html", conversation_id=conversation_id)
    await hub.publish(kinds.MESSAGE_READ, [reader_id], own)
    if not reader.send_read_receipts or not changed:  # type: ignore[attr-defined]
        return
    reads = await read_state(conversation, [])
    html = await render_each_language("receipts/_event.html", conversation=conversation,
                                      messages=changed, reads=reads)
    authors = {m.author_id for m in changed}
    # Only the authors of the newly read messages see read marks; nobody else needs the event.
    # Walk the few authors, not the room's members.
    await hub.publish(kinds.MESSAGE_READ, [a for a in authors if a in members and a != reader_id],
                      html)
