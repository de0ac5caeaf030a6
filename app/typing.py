"""Who is typing where: kept in memory only, expired without a refresh, never echoed back.

Each change renders the indicator for the typists of that conversation; a typist's own copy
leaves them out, so nobody ever reads "you are typing".
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any

from quart import Quart

from app.db import run_db
from app.members import members_of
from app.models import Conversation, User
from app.realtime import kinds
from app.realtime.connection import Connection
from app.realtime.render import render_each_language

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)
TYPING_BATCH_S = 0.05  # changes within this window go out together
CLOSED_KEPT = 10_000  # (conversation, user, session) send marks kept for late typing reports


def _members_and_names(conversation_id: int, typists: list[int]
                       ) -> tuple[frozenset[int], dict[int, str], str]:
    # The room's row is read first and fresh: its members_version is what makes the cached
    # member list safe to use.
    conv = Conversation.get_or_none(Conversation.id == conversation_id)
    members = members_of(conv) if conv is not None else frozenset()
    names = dict(User.select(User.id, User.display_name).where(User.id.in_(typists)).tuples())
    return members, names, (conv.title or "") if conv else ""


def _view(shown: list[str]) -> tuple[str, ...]:
    """What a member's indicator says: up to two names, then "several people"."""
    return tuple(shown) if len(shown) < 3 else ("*",)


class TypingTracker:
    def __init__(self, app: Quart, kehai: Services) -> None:
        self.app = app
        self.kehai = kehai
        self.typing: dict[int, dict[int, asyncio.TimerHandle]] = {}  # conv -> user -> expiry
        self.titles: dict[int, str] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending: set[int] = set()  # conversations with a broadcast due
        self._views: dict[int, dict[int, tuple[str, ...]]] = {}  # what each member last got
        self.node = os.urandom(6).hex()
        self._unknown: set[int] = set()
        # The composer numbers its typing reports and sends the next number with its message:
        # a report that a slow link delivers after the message is ignored (it is older).
        self.closed: dict[tuple[int, int, str], int] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def close_before(self, conversation_id: int, user_id: int, session_id: str, seq: int) -> None:
        """A message was sent: typing reports numbered up to `seq` are over."""
        key = (conversation_id, user_id, session_id)
        seq = max(seq, self.closed.pop(key, 0))
        self.closed[key] = seq  # re-inserted: the dict stays in order of last use
        if len(self.closed) > CLOSED_KEPT:
            del self.closed[next(iter(self.closed))]

    def is_late(self, conversation_id: int, user_id: int, session_id: str, seq: int) -> bool:
        """A typing report that its own message already closed."""
        return 0 < seq <= self.closed.get((conversation_id, user_id, session_id), 0)

    def start(self, conversation_id: int, user_id: int, *, tell: bool = True) -> bool:
        """Start or refresh; True when this began a new indicator (an event goes out).

        With several processes every change is replicated to the others (`tell`), so a
        refresh, a send or an expiry is handled wherever the next request lands; only the
        process that saw the request broadcasts it.
        """
        loop = asyncio.get_running_loop()
        typists = self.typing.setdefault(conversation_id, {})
        timer = typists.get(user_id)
        if timer is not None:
            timer.cancel()
        typists[user_id] = loop.call_later(self.kehai.config.typing_expiry_s, self._expire,
                                           conversation_id, user_id, tell)
        if tell:
            self._replicate("start", conversation_id, user_id)
            if timer is None:
                self._changed(conversation_id, user_id, kinds.TYPING_START)
        return timer is None

    def stop(self, conversation_id: int, user_id: int, *, tell: bool = True) -> bool:
        typists = self.typing.get(conversation_id, {})
        timer = typists.pop(user_id, None)
        if tell:
            self._replicate("stop", conversation_id, user_id)
        if timer is None:
            return False
        timer.cancel()
        if not typists:
            self.typing.pop(conversation_id, None)
        if tell:
            self._changed(conversation_id, user_id, kinds.TYPING_STOP)
        return True

    def _expire(self, conversation_id: int, user_id: int, owner: bool) -> None:
        # Every process forgets the typist; the one that took the last refresh tells people.
        self.stop(conversation_id, user_id, tell=owner)

    def _replicate(self, state: str, conversation_id: int, user_id: int) -> None:
        if not self.kehai.config.redis_url:
            return
        self._spawn(self.kehai.hub.broker.send_control(
            {"op": "typing", "state": state, "conv": conversation_id, "user": user_id,
             "node": self.node}))

    def on_control(self, message: dict[str, object]) -> None:
        if message.get("op") != "typing" or message.get("node") == self.node:
            return
        conversation_id, user_id = int(message["conv"]), int(message["user"])  # type: ignore[arg-type]
        if message.get("state") == "start":
            self.start(conversation_id, user_id, tell=False)
        else:
            self.stop(conversation_id, user_id, tell=False)
        # Another process broadcast this change: what members last got is no longer known,
        # so this process's next broadcast for the conversation goes to every member.
        self._views.pop(conversation_id, None)
        self._unknown.add(conversation_id)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop_everywhere(self, user_id: int) -> None:
        for conversation_id in [c for c, t in self.typing.items() if user_id in t]:
            self.stop(conversation_id, user_id)

    def on_close(self, conn: Connection, streams: int) -> None:
        if not streams:  # the typist's last stream is gone: never leave a stuck indicator
            self.stop_everywhere(conn.user_id)

    def typing_in(self, user_id: int) -> str | None:
        for conversation_id, typists in self.typing.items():
            if user_id in typists:
                return self.titles.get(conversation_id) or f"#{conversation_id}"
        return None

    def _changed(self, conversation_id: int, user_id: int, kind: str) -> None:
        announcer = self.kehai.extras.get("announcer")
        if announcer is not None:
            announcer.row_changed(user_id)
        if conversation_id not in self._pending:
            self._pending.add(conversation_id)
            asyncio.get_running_loop().call_later(TYPING_BATCH_S, self._flush, conversation_id)

    def _flush(self, conversation_id: int) -> None:
        self._pending.discard(conversation_id)
        task = asyncio.get_running_loop().create_task(self._broadcast(conversation_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self, conversation_id: int) -> None:
        """Publish now what members should read, after any broadcast under way: a message
        goes out next, and a reader must never see it with its author still "typing" (an
        expiry's stop may also still be in its batching window)."""
        if conversation_id in self._views or conversation_id in self.typing:
            self._pending.discard(conversation_id)
            await self._broadcast(conversation_id)

    async def _broadcast(self, conversation_id: int) -> None:
        """One conversation's broadcasts one after another: one still rendering a "typing"
        line could otherwise publish it after a later one (a send's stop) and its message."""
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            await self._broadcast_now(conversation_id)
        if conversation_id not in self.typing and not lock.locked():
            self._locks.pop(conversation_id, None)

    async def _broadcast_now(self, conversation_id: int) -> None:
        """Send each member what they should now read, only if it changed for them.

        A member's view is everyone typing except themselves (never "you are typing");
        from three names on it is "several people", so a typing storm costs a handful of
        renders and, once everyone reads "several", no events at all.
        """
        try:
            current = list(self.typing.get(conversation_id, {}))
            members, names, title = await run_db(_members_and_names, conversation_id, current)
            self.titles[conversation_id] = title
            typists = [t for t in self.typing.get(conversation_id, {})
                       if t in names and t in members]
            sent = self._views.setdefault(conversation_id, {})
            unknown = conversation_id in self._unknown
            self._unknown.discard(conversation_id)
            groups: dict[tuple[str, ...], list[int]] = {}
            grew: dict[tuple[str, ...], bool] = {}
            # Everyone who is not typing reads the same line; only a typist's own line leaves
            # them out. Work out both once, not once per member (a room may have 10,000).
            typing_now = set(typists)
            everyone = _view([names[t] for t in typists])
            own = {t: _view([names[o] for o in typists if o != t]) for t in typists
                   } if len(typists) <= 3 else dict.fromkeys(typists, everyone)
            for member in members:
                key = own[member] if member in typing_now else everyone
                before = sent.get(member, ("?",) if unknown else ())
                if key == before:
                    continue
                sent[member] = key
                groups.setdefault(key, []).append(member)
                grew[key] = len(key) > len(before) or (key == ("*",) and before != ("*",))
            for key, recipients in groups.items():
                kind = kinds.TYPING_START if grew[key] and key else kinds.TYPING_STOP
                async with self.app.app_context():
                    html = await render_each_language(
                        "typing/_event.html", kind=kind, conversation_id=conversation_id,
                        names=list(key) if key != ("*",) else ["", "", ""])
                await self.kehai.hub.publish(kind, recipients, html,
                                             coalesce_key=f"typing:{conversation_id}")
            if not typists:
                self._views.pop(conversation_id, None)
        except Exception:
            log.exception("typing broadcast failed for conversation %s", conversation_id)


def install(app: Quart, kehai: Services) -> None:
    tracker = TypingTracker(app, kehai)
    kehai.extras["typing"] = tracker
    kehai.hub.on_close.append(tracker.on_close)
    kehai.hub.control_hooks.append(tracker.on_control)

    async def after_send(user: User, conversation_id: int, session_id: str = "",
                         typing_seq: int = 0) -> None:
        if typing_seq:
            tracker.close_before(conversation_id, user.id, session_id, typing_seq)
        tracker.stop(conversation_id, user.id)
        await tracker.settle(conversation_id)

    kehai.extras.setdefault("after_send", []).append(after_send)
