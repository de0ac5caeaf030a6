"""One open stream: a bounded queue the hub fills and the stream drains."""

from __future__ import annotations

import asyncio
from collections import deque

from app.realtime.events import Event


class Connection:
    """A tab's stream. Never blocks the publisher: overflow closes it for a clean resume."""

    __slots__ = ("active", "closing", "deadline", "dropped", "id", "lang", "last_seq",
                 "maxsize", "overflowed", "ping", "queue", "session_id", "tab", "user_id",
                 "wake")

    _next = 0

    def __init__(self, user_id: int, session_id: str, lang: str, maxsize: int,
                 tab: str = "") -> None:
        Connection._next += 1
        self.id = Connection._next
        self.user_id = user_id
        self.session_id = session_id
        self.lang = lang
        self.maxsize = maxsize
        self.queue: deque[Event] = deque()
        self.wake = asyncio.Event()
        self.overflowed = False
        self.closing: str | None = None  # "close" = for good (logout), "shutdown", ...
        self.last_seq = 0
        self.dropped = 0
        self.ping = False  # set by the hub's heartbeat ticker: write a comment line
        self.deadline = 0.0  # monotonic time after which the stream ends itself
        self.tab = tab  # the browser tab's own id (sessionStorage), for away/active reports
        self.active = True  # visible and used recently, as the tab last reported

    def push(self, event: Event) -> str | None:
        """Queue an event; returns "dropped", "coalesced" or "overflow" when it was not queued."""
        if self.closing or self.overflowed:
            return None
        if event.coalesce_key is not None:
            for index, queued in enumerate(self.queue):
                if queued.coalesce_key == event.coalesce_key:
                    del self.queue[index]
                    self.queue.append(event)
                    return "coalesced"
        if len(self.queue) >= self.maxsize:
            if event.droppable:
                self.dropped += 1
                return "dropped"
            # Messages and read marks are never dropped: end the stream, the client resumes
            # with Last-Event-ID and gets them from the replay buffer.
            self.overflowed = True
            self.queue.clear()
            self.wake.set()
            return "overflow"
        self.queue.append(event)
        self.wake.set()
        return None

    def close(self, reason: str) -> None:
        self.closing = reason
        self.wake.set()

    def drain(self) -> list[Event]:
        """Everything queued, skipping what replay already sent."""
        events = [e for e in self.queue if e.seq > self.last_seq]
        self.queue.clear()
        self.wake.clear()
        if events:
            self.last_seq = events[-1].seq
        return events
