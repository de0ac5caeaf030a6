"""Messages: stored first, then broadcast to every member as one rendered event.

Broadcasts are named after what happened and called by the route that made it happen,
once the message is committed (no save hook hides them).
"""

from __future__ import annotations

from collections.abc import Callable

from app.db import run_db
from app.members import current_members
from app.models import Conversation, Message, User
from app.realtime import kinds
from app.realtime.hub import Hub
from app.web.render import Renderer

AfterSend = Callable[[int, int, bool], None]  # (conversation id, author id, newly stored)


class Messages:
    def __init__(self, hub: Hub, renderer: Renderer, after_send: AfterSend) -> None:
        self.hub = hub
        self.renderer = renderer
        self.after_send = after_send

    async def send(self, conversation: Conversation, author: User, body: str,
                   client_id: str | None) -> tuple[Message, bool]:
        """Store the message once per client_id, then tell the room; (message, created)."""
        message, created = await run_db(Message.post, conversation, author, body, client_id)
        if created:
            await self.created(message, conversation)
        self.after_send(conversation.id, author.id, created)
        return message, created

    async def created(self, message: Message, conversation: Conversation) -> None:
        """Render the message once per language and send the same bytes to every member."""
        # `conversation` was read before the message was stored: a member removed since then
        # must not get it, so look at the room's version again (one primary-key read).
        members = await run_db(current_members, conversation.id)
        html = await self.renderer.each_language(
            "messages/_new_message_event.html", m=message, conversation=conversation, reads=None)
        await self.hub.publish(kinds.NEW_MESSAGE, members, html)
