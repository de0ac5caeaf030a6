"""Who is typing where: kept in memory only, expired without a refresh.

With several processes every change is replicated to the others, so a refresh, a send or an
expiry is handled wherever the next request lands; only the process that saw the request
tells people (`tell`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

CLOSED_KEPT = 10_000  # (conversation, user, session) send marks kept for late typing reports
Changed = Callable[[int, int], None]  # (conversation id, user id): an indicator changed
Replicate = Callable[[bool, int, int], None]  # (started, conversation id, user id)


class Typists:
    def __init__(self, expiry_s: float, changed: Changed, replicate: Replicate) -> None:
        self.expiry_s = expiry_s
        self.changed = changed
        self.replicate = replicate
        self.timers: dict[int, dict[int, asyncio.TimerHandle]] = {}  # conv -> user -> expiry
        # The composer numbers its typing reports and sends the next number with its message:
        # a report that a slow link delivers after the message is ignored (it is older).
        # Per session, so another device's numbering never silences this one.
        self.closed: dict[tuple[int, int, str], int] = {}

    def close_before(self, conversation_id: int, user_id: int, session_id: str,
                     seq: int) -> None:
        """A message was sent: this composer's typing reports numbered up to `seq` are over."""
        key = (conversation_id, user_id, session_id)
        self.closed[key] = max(seq, self.closed.pop(key, 0))  # re-inserted: newest last
        if len(self.closed) > CLOSED_KEPT:
            del self.closed[next(iter(self.closed))]

    def is_late(self, conversation_id: int, user_id: int, session_id: str, seq: int) -> bool:
        """A typing report that its own message already closed."""
        return 0 < seq <= self.closed.get((conversation_id, user_id, session_id), 0)

    def start(self, conversation_id: int, user_id: int, *, tell: bool = True) -> bool:
        """Start or refresh; True when this began a new indicator (an event goes out)."""
        typists = self.timers.setdefault(conversation_id, {})
        timer = typists.get(user_id)
        if timer is not None:
            timer.cancel()
        typists[user_id] = asyncio.get_running_loop().call_later(
            self.expiry_s, self._expire, conversation_id, user_id, tell)
        if tell:
            self.replicate(True, conversation_id, user_id)
            if timer is None:
                self.changed(conversation_id, user_id)
        return timer is None

    def stop(self, conversation_id: int, user_id: int, *, tell: bool = True) -> bool:
        """End an indicator (send, empty box, leaving, expiry); True if there was one."""
        typists = self.timers.get(conversation_id, {})
        timer = typists.pop(user_id, None)
        if tell:
            self.replicate(False, conversation_id, user_id)
        if timer is None:
            return False
        timer.cancel()
        if not typists:
            self.timers.pop(conversation_id, None)
        if tell:
            self.changed(conversation_id, user_id)
        return True

    def _expire(self, conversation_id: int, user_id: int, owner: bool) -> None:
        # Every process forgets the typist; the one that took the last refresh tells people.
        self.stop(conversation_id, user_id, tell=owner)

    def stop_everywhere(self, user_id: int) -> None:
        for conversation_id in [c for c, t in self.timers.items() if user_id in t]:
            self.stop(conversation_id, user_id)

    def typists(self, conversation_id: int) -> tuple[int, ...]:
        """In the order they started: the indicator names them in that order."""
        return tuple(self.timers.get(conversation_id, ()))

    def typing_in(self, user_id: int) -> int | None:
        for conversation_id, typists in self.timers.items():
            if user_id in typists:
                return conversation_id
        return None
