"""Typing indicators: who is typing where, told to the room, never echoed to the typist.

`Typing` is the capability's face: the state (timers), the broadcast (per-member lines) and,
with several processes, the replication of every change to the others.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from redis.exceptions import RedisError

from app.logs import OutageLog
from app.realtime.connection import Connection
from app.realtime.control import Control, TypingChanged
from app.realtime.hub import Hub
from app.tasks import TaskSet
from app.typists.broadcast import TypingBroadcast
from app.typists.state import Typists
from app.web.render import Renderer


class Typing:
    def __init__(self, hub: Hub, renderer: Renderer, expiry_s: float, shared: bool,
                 on_change: Callable[[int], None]) -> None:
        self.hub = hub
        self.shared = shared  # other processes keep a copy (Redis)
        self.on_change = on_change  # (user id): what operators see of them changed
        self.node = os.urandom(6).hex()
        self._tasks = TaskSet(__name__)
        self._outage = OutageLog(logging.getLogger(__name__), "Redis for typing replication")
        self.state = Typists(expiry_s, self._changed, self._replicate)
        self.broadcast = TypingBroadcast(hub, renderer, self.state)

    def start(self, conversation_id: int, user_id: int) -> bool:
        return self.state.start(conversation_id, user_id)

    def stop(self, conversation_id: int, user_id: int) -> bool:
        return self.state.stop(conversation_id, user_id)

    async def message_sent(self, conversation_id: int, user_id: int, session_id: str,
                           typing_seq: int) -> None:
        """The author's indicator ends before their message goes out, never after it: late
        typing reports from that composer are ignored, and what members read is published
        now, ahead of the message."""
        if typing_seq:
            self.state.close_before(conversation_id, user_id, session_id, typing_seq)
        self.state.stop(conversation_id, user_id)
        await self.broadcast.settle(conversation_id)

    def is_late(self, conversation_id: int, user_id: int, session_id: str, seq: int) -> bool:
        return self.state.is_late(conversation_id, user_id, session_id, seq)

    def typists(self, conversation_id: int) -> tuple[int, ...]:
        return self.state.typists(conversation_id)

    def typing_in(self, user_id: int) -> int | None:
        return self.state.typing_in(user_id)

    def closed(self, conn: Connection, streams: int) -> None:
        """The typist's last stream is gone: never leave a stuck indicator."""
        if not streams:
            self.state.stop_everywhere(conn.user_id)

    def control(self, message: Control) -> None:
        """Another process's change: keep this process's copy in step (it told people)."""
        if not isinstance(message, TypingChanged) or message.node == self.node:
            return
        if message.started:
            self.state.start(message.conversation_id, message.user_id, tell=False)
        else:
            self.state.stop(message.conversation_id, message.user_id, tell=False)
        self.broadcast.forget(message.conversation_id)

    def _changed(self, conversation_id: int, user_id: int) -> None:
        self.on_change(user_id)
        self.broadcast.due(conversation_id)

    def _replicate(self, started: bool, conversation_id: int, user_id: int) -> None:
        if self.shared:
            self._tasks.spawn(self._send(TypingChanged(started, conversation_id, user_id,
                                                       self.node)))

    async def _send(self, message: TypingChanged) -> None:
        # While Redis is away every typing POST would fail here: one line per outage, not one
        # per keystroke (the other processes' copies catch up with the next change).
        try:
            await self.hub.send_control(message)
        except (RedisError, OSError) as error:
            self._outage.failed(error)
        else:
            self._outage.ok()

    async def stop_all(self) -> None:
        await self._tasks.cancel_all()
        await self.broadcast.stop()
