"""Messages: stored first, then broadcast to every member as one rendered event.

Broadcasts are named after what happened and called by the route that made it happen,
once the message is committed (no save hook hides them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from app.db import Grouped, run_db
from app.faults import crash_point
from app.i18n import current
from app.members import members_now
from app.messages.edits import is_last
from app.models import Conversation, Message, User
from app.models.message import Draft, with_quotes
from app.realtime import kinds
from app.realtime.hub import Hub
from app.relay import Settle, once_key
from app.web.render import Renderer

AfterSend = Callable[[int, int, bool], None]  # (conversation id, author id, newly stored)
# (conversation id, author id, session id, the composer's typing number): before it goes out
BeforeAnnounce = Callable[[int, int, str, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Sent:
    """A message as its sender's request ends: stored (or found again: created is False on a
    retry) and rendered, {language: HTML}."""

    message: Message
    created: bool
    html: dict[str, str]


@dataclass(frozen=True, slots=True)
class Composer:
    """Where a message was typed: the author's session and its typing reports' number."""

    session_id: str = ""
    typing_seq: int = 0


def _message_and_room(message_id: int) -> tuple[Message, Conversation] | None:
    message = Message.select(Message, User).join(User).where(Message.id == message_id).first()
    if message is None:
        return None
    with_quotes([message])
    return message, Conversation.get_by_id(message.conversation_id)


class Messages:
    def __init__(self, hub: Hub, renderer: Renderer, before_announce: BeforeAnnounce,
                 after_send: AfterSend, settle: Settle) -> None:
        self.hub = hub
        self.renderer = renderer
        self.before_announce = before_announce
        self.after_send = after_send
        self.settle = settle
        self._post = Grouped(Message.post_many)

    async def send(self, conversation: Conversation, author: User, body: str,
                   client_id: str | None, composer: Composer = Composer(),
                   reply_to: Message | None = None) -> Sent:
        """Store the message once per client_id, then tell the room. `reply_to`, a message
        of the same room the caller has checked (`repliable`), is quoted above it.

        A retry whose first attempt was stored but never announced (the process died, the
        broker was down) announces it now; the once key keeps it to one event."""
        message, created, row = await self._post(Draft(conversation, author, body, client_id,
                                                       reply_to))
        crash_point("after-commit")
        await self.before_announce(conversation.id, author.id, composer.session_id,
                                   composer.typing_seq)
        # Read after the store: a member removed before it must not get the message.
        members = await members_now(conversation.id) if row is not None else frozenset()
        html = await self._rendered(message, conversation,
                                    self.hub.languages.needed(members, also=current()))
        if row is not None:
            await self.settle(row, self.created(message, conversation, once_key(row), html,
                                                members))
        self.after_send(conversation.id, author.id, created)
        return Sent(message, created, html)

    async def reply(self, sent: Sent) -> str:
        """The sender's own answer, in the request's language: the message in its list."""
        return await self.renderer.plain("messages/_sent.html",
                                         message_html=Markup(sent.html[current()]))

    async def _rendered(self, message: Message, conversation: Conversation,
                        languages: tuple[str, ...]) -> dict[str, str]:
        """The message as every member's list shows it, once per language its readers use:
        the event and the sender's own reply are made of it (static/app.js marks one's
        own)."""
        return await self.renderer.each_language("messages/_message.html", None, languages,
                                                 quart=False, m=message,
                                                 conversation=conversation, reads=None)

    async def republish(self, payload: dict[str, Any], key: str) -> None:
        """The relay's handler for a "new-message" outbox row."""
        found = await run_db(_message_and_room, int(payload["message"]))
        if found is not None:  # deleted since: nothing to announce
            await self.created(*found, once_key=key)

    async def created(self, message: Message, conversation: Conversation,
                      once_key: str | None = None, rendered: dict[str, str] | None = None,
                      members: frozenset[int] | None = None) -> None:
        """Render the message once per language and send the same bytes to every member."""
        if members is None:
            # `conversation` was read before the message was stored: a member removed since
            # then must not get it, so look at the room's version again (a primary-key read).
            members = await members_now(conversation.id)
        parts = rendered or await self._rendered(message, conversation,
                                                 self.hub.languages.needed(members))
        html = await self.renderer.each_language(
            "messages/_new_message_event.html",
            {lang: {"message_html": Markup(part)} for lang, part in parts.items()},
            quart=False, m=message, conversation=conversation)
        await self.hub.publish(kinds.NEW_MESSAGE, members, html, once_key=once_key)

    async def changed(self, message: Message, conversation: Conversation,
                      once_key: str | None = None) -> None:
        """An edit or a delete: every member's copy of the message (and the list's preview,
        if it is the last one) is redrawn, in every tab, live or on replay."""
        members = await members_now(conversation.id)
        last = await run_db(is_last, message)
        html = await self.renderer.each_language(
            "messages/_changed_event.html", m=message, conversation=conversation, last=last)
        await self.hub.publish(kinds.MESSAGE_CHANGED, members, html, once_key=once_key)

    async def announce_change(self, message: Message, conversation: Conversation,
                              row: int | None) -> None:
        if row is not None:
            await self.settle(row, self.changed(message, conversation, once_key(row)))

    async def republish_change(self, payload: dict[str, Any], key: str) -> None:
        """The relay's handler for a "message-changed" outbox row."""
        found = await run_db(_message_and_room, int(payload["message"]))
        if found is not None:
            await self.changed(*found, once_key=key)
