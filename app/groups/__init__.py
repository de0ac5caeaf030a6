"""Groups people can manage, and names people can change: broadcasts of what changed.

Every change is committed with an outbox row (store.py); the route that made it calls
`publish` with that row, and the relay publishes any row a crash or a broker outage left
behind. One row may become up to three events (the room's members, who joined, who left),
each with its own once key, so a row published twice still reaches each stream once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.db import run_db
from app.groups import store
from app.members import members_now
from app.models import Conversation, Membership, Outbox, User
from app.realtime import kinds
from app.realtime.hub import Hub
from app.relay import Settle, once_key
from app.web.render import Renderer

Statuses = Callable[[list[User | None]], dict[str, str]]  # username -> status, as anyone sees it
Republish = Callable[[dict[str, Any], str], Awaitable[None]]  # (outbox payload, once key)


def _room(conversation_id: int) -> tuple[Conversation, list[User]] | None:
    room = Conversation.get_or_none(Conversation.id == conversation_id)
    return (room, Membership.members(conversation_id)) if room is not None else None


def _payload(row_id: int) -> tuple[str, dict[str, Any]]:
    row = Outbox.get_by_id(row_id)
    return row.kind, row.payload


class Groups:
    def __init__(self, hub: Hub, renderer: Renderer, settle: Settle, statuses: Statuses,
                 shown_members: int, announce_message: Republish) -> None:
        self.hub = hub
        self.renderer = renderer
        self.settle = settle
        self.statuses = statuses
        self.shown_members = shown_members
        # The relay's handlers, by outbox kind.
        self.handlers = {store.ROOM_CHANGED: self.room_changed,
                         store.NAME_CHANGED: self.name_changed}
        self.announce_message = announce_message  # a line in the history: a new message

    async def publish(self, rows: store.Rows) -> None:
        """Announce what the outbox rows of one change record, in order, each once."""
        for row_id in rows:
            kind, payload = await run_db(_payload, row_id)
            handler = self.handlers.get(kind, self.announce_message)
            if not await self.settle(row_id, handler(payload, once_key(row_id))):
                return  # the broker is away: the relay publishes them all, in order

    async def room_changed(self, payload: dict[str, Any], key: str) -> None:
        """The members see the new title and member list; who joined finds the room in
        their list; who left loses it, and their open pages of it say so."""
        found = await run_db(_room, int(payload["conversation"]))
        if found is None:
            return
        room, members = found
        now_in = await members_now(room.id)
        html = await self.renderer.each_language(
            "groups/_room_event.html", conversation=room, members=members,
            presence=self.statuses(list(members[:self.shown_members])),
            shown_members=self.shown_members)
        await self.hub.publish(kinds.ROOM_CHANGED, now_in, html, once_key=f"{key}:room")
        joined = [uid for uid in payload.get("joined", []) if uid in now_in]
        if joined:
            html = await self.renderer.each_language("groups/_joined_event.html",
                                                     conversation=room)
            await self.hub.publish(kinds.ROOM_JOINED, joined, html, once_key=f"{key}:joined")
        left = [uid for uid in payload.get("left", []) if uid not in now_in]
        if left:
            html = await self.renderer.each_language("groups/_left_event.html",
                                                     conversation=room)
            await self.hub.publish(kinds.ROOM_LEFT, left, html, once_key=f"{key}:left")

    async def name_changed(self, payload: dict[str, Any], key: str) -> None:
        """Every name of that person on screen, for everyone who can see one."""
        person = await run_db(User.get_or_none, User.id == int(payload["user"]))
        if person is None:
            return
        audience = await run_db(store.contacts_of, person.id)
        html = await self.renderer.each_language("groups/_name_event.html", person=person)
        await self.hub.publish(kinds.NAME_CHANGED, audience, html, once_key=key)
