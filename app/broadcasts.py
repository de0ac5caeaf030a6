"""Broadcasts named after what happened; views call them explicitly after committing."""

from __future__ import annotations

from app.db import run_db
from app.models import Conversation, Membership, Message
from app.realtime import kinds
from app.realtime.render import render_each_language
from app.services import services


async def message_created(message: Message, conversation: Conversation) -> None:
    """Render the message once per language and send the same bytes to every member."""
    members = await run_db(Membership.member_ids, conversation.id)
    html = await render_each_language(
        "messages/_new_message_event.html", m=message, conversation=conversation, reads=None
    )
    await services().hub.publish(kinds.NEW_MESSAGE, members, html)
    recent = services().extras.get("recent_messages")
    if recent is not None:
        recent.add()
