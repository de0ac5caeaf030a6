"""Per-user replay buffers: what a resuming stream missed, kept in memory.

Messages and read marks ("durable") are kept while younger than `window_s` or among the
user's last `min_events`. Presence and typing ("ephemeral") are superseded by the next change,
so only the last `ephemeral_events` of them are kept: in a big room they would otherwise
crowd memory with thousands of dots per person. A resume that would need an ephemeral event
already trimmed gets a resync, which re-renders the current state anyway.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable

from app.realtime.events import Event


class ReplayBuffer:
    def __init__(self, window_s: float, min_events: int, max_events: int,
                 clock: Callable[[], float] = time.time, ephemeral_events: int = 64) -> None:
        self.window_s = window_s
        self.min_events = min_events
        self.max_events = max(max_events, min_events)
        self.ephemeral_events = ephemeral_events
        self.clock = clock
        self.buffers: dict[int, deque[Event]] = {}
        # Lists trimmed in chunks (every open stream's user has one; a deque costs a 64-slot
        # block even when nearly empty).
        self.ephemeral: dict[int, list[Event]] = {}
        # highest seq ever trimmed per user: an id below it cannot be replayed without a gap
        self.floor: dict[int, int] = {}

    def add(self, event: Event) -> None:
        if event.droppable:
            self._add_ephemeral(event)
            return
        now = self.clock()
        for user_id in event.recipients:
            buf = self.buffers.get(user_id)
            if buf is None:
                buf = self.buffers[user_id] = deque()
            buf.append(event)
            if len(buf) > self.min_events:
                self._trim(user_id, buf, now)

    def _add_ephemeral(self, event: Event) -> None:
        cap = self.ephemeral_events
        limit = cap + max(cap // 4, 1)
        for user_id in event.recipients:
            buf = self.ephemeral.get(user_id)
            if buf is None:
                buf = self.ephemeral[user_id] = []
            buf.append(event)
            if len(buf) > limit:  # keep the newest `cap`, at least
                seq = buf[-cap - 1].seq
                del buf[:-cap]
                if seq > self.floor.get(user_id, 0):
                    self.floor[user_id] = seq

    def _trim(self, user_id: int, buf: deque[Event], now: float) -> None:
        horizon = now - self.window_s
        while len(buf) > self.min_events and (buf[0].created < horizon
                                              or len(buf) > self.max_events):
            seq = buf.popleft().seq
            if seq > self.floor.get(user_id, 0):
                self.floor[user_id] = seq

    def since(self, user_id: int, after_seq: int, base_seq: int) -> list[Event] | None:
        """Events after `after_seq` in order; None when some of them were already trimmed."""
        if after_seq < self.floor.get(user_id, base_seq):
            return None
        tails = [_tail(self.buffers.get(user_id), after_seq),
                 _tail(self.ephemeral.get(user_id), after_seq)]
        if not tails[1]:
            return tails[0]
        if not tails[0]:
            return tails[1]
        return list(heapq.merge(*tails, key=lambda e: e.seq))


def _tail(buf: deque[Event] | list[Event] | None, after_seq: int) -> list[Event]:
    """The events after `after_seq`; usually a short tail, so walk from the right."""
    if not buf or buf[-1].seq <= after_seq:
        return []
    out: list[Event] = []
    for event in reversed(buf):
        if event.seq <= after_seq:
            break
        out.append(event)
    out.reverse()
    return out
