"""Per-user replay buffers: what a resuming stream missed, kept in memory."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from app.realtime.events import Event


class ReplayBuffer:
    """Keeps each user's events while younger than `window_s` or among their last `min_events`.

    `floor[user]` is the highest seq ever trimmed for that user: an id below it cannot be
    replayed without a gap, so it gets a resync instead.
    """

    def __init__(self, window_s: float, min_events: int, max_events: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.window_s = window_s
        self.min_events = min_events
        self.max_events = max(max_events, min_events)
        self.clock = clock
        self.buffers: dict[int, deque[Event]] = {}
        self.floor: dict[int, int] = {}

    def add(self, event: Event) -> None:
        now = self.clock()
        for user_id in event.recipients:
            buf = self.buffers.get(user_id)
            if buf is None:
                buf = self.buffers[user_id] = deque()
            buf.append(event)
            if len(buf) > self.min_events:
                self._trim(user_id, buf, now)

    def _trim(self, user_id: int, buf: deque[Event], now: float) -> None:
        horizon = now - self.window_s
        while len(buf) > self.min_events and (buf[0].created < horizon
                                              or len(buf) > self.max_events):
            self.floor[user_id] = buf.popleft().seq

    def since(self, user_id: int, after_seq: int, base_seq: int) -> list[Event] | None:
        """Events after `after_seq`; None when some of them were already trimmed."""
        floor = self.floor.get(user_id, base_seq)
        if after_seq < floor:
            return None
        buf = self.buffers.get(user_id)
        if not buf:
            return []
        if buf[-1].seq <= after_seq:
            return []
        # Usually the missed tail is short: walk from the right.
        out: list[Event] = []
        for event in reversed(buf):
            if event.seq <= after_seq:
                break
            out.append(event)
        out.reverse()
        return out
