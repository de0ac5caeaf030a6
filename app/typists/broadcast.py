"""Send each member of a room the typing line they should now read, only if it changed."""

from __future__ import annotations

import asyncio

from app.db import run_db
from app.members import members_of
from app.models import Conversation, User
from app.realtime import kinds
from app.realtime.hub import Hub
from app.tasks import TaskSet
from app.typists.lines import SEVERAL, Line, changed_lines
from app.typists.state import Typists
from app.web.render import Renderer

TYPING_BATCH_S = 0.05  # changes within this window go out together


def _members_and_names(conversation_id: int, typists: list[int]
                       ) -> tuple[frozenset[int], dict[int, str]]:
    # The room's row is read first and fresh: its members_version is what makes the cached
    # member list safe to use.
    conv = Conversation.get_or_none(Conversation.id == conversation_id)
    members = members_of(conv) if conv is not None else frozenset()
    names = dict(User.select(User.id, User.display_name).where(User.id.in_(typists)).tuples())
    return members, names


class TypingBroadcast:
    def __init__(self, hub: Hub, renderer: Renderer, state: Typists) -> None:
        self.hub = hub
        self.renderer = renderer
        self.state = state
        self._tasks = TaskSet(__name__)
        self._pending: set[int] = set()  # conversations with a broadcast due
        self._sent: dict[int, dict[int, Line]] = {}  # conv -> what each member last got
        self._unknown: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}

    def due(self, conversation_id: int) -> None:
        """Broadcast the room's typing within TYPING_BATCH_S."""
        if conversation_id not in self._pending:
            self._pending.add(conversation_id)
            asyncio.get_running_loop().call_later(TYPING_BATCH_S, self._flush, conversation_id)

    def forget(self, conversation_id: int) -> None:
        """Another process broadcast a change here: what members last got is no longer
        known, so the next broadcast for the room goes to every member."""
        self._sent.pop(conversation_id, None)
        self._unknown.add(conversation_id)

    def _flush(self, conversation_id: int) -> None:
        self._pending.discard(conversation_id)
        self._tasks.spawn(self._broadcast(conversation_id))

    async def settle(self, conversation_id: int) -> None:
        """Publish now what members should read, after any broadcast under way: a message
        goes out next, and a reader must never see it with its author still "typing" (a
        stop may still be in its batching window)."""
        if conversation_id in self._sent or self.state.typists(conversation_id):
            self._pending.discard(conversation_id)
            await self._broadcast(conversation_id)

    async def _broadcast(self, conversation_id: int) -> None:
        """One room's broadcasts one after another: one still rendering a "typing" line
        could otherwise publish it after a later one (a send's stop) and its message."""
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            await self._broadcast_now(conversation_id)
        if not self.state.typists(conversation_id) and not lock.locked():
            self._locks.pop(conversation_id, None)

    async def _broadcast_now(self, conversation_id: int) -> None:
        current = list(self.state.typists(conversation_id))
        members, names = await run_db(_members_and_names, conversation_id, current)
        typists = [t for t in self.state.typists(conversation_id) if t in names and t in members]
        sent = self._sent.setdefault(conversation_id, {})
        unknown = conversation_id in self._unknown
        self._unknown.discard(conversation_id)
        changes = changed_lines(members, typists, names, sent, unknown)
        for line, recipients in changes.groups.items():
            kind = kinds.TYPING_START if changes.grew[line] and line else kinds.TYPING_STOP
            html = await self.renderer.each_language(
                "typists/_event.html", kind=kind, conversation_id=conversation_id,
                names=list(line) if line != SEVERAL else ["", "", ""])
            await self.hub.publish(kind, recipients, html,
                                   coalesce_key=f"typing:{conversation_id}")
        if not typists:
            self._sent.pop(conversation_id, None)

    async def stop(self) -> None:
        await self._tasks.cancel_all()
