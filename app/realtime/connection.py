"""One open stream: a bounded queue the hub fills and the stream drains."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.realtime.events import Event

MAX_TABS = 32  # tab reports kept per stream


class Connection:
    """A tab's stream. Never blocks the publisher: overflow closes it for a clean resume.

    Ten thousand of these stay open for up to half an hour, so each is kept small: a plain
    list for the queue (a deque allocates a 64-slot block up front) and a future made only
    while the stream actually waits, instead of an asyncio.Event with its own waiter deque.
    """

    __slots__ = ("_waiter", "abort", "active", "closing", "deadline", "dropped", "id", "lang",
                 "last_seq", "maxsize", "overflowed", "ping", "queue", "session_id", "tab",
                 "tabs", "user_id", "writing_since")

    _next = 0

    def __init__(self, user_id: int, session_id: str, lang: str, maxsize: int,
                 tab: str = "") -> None:
        Connection._next += 1
        self.id = Connection._next
        self.user_id = user_id
        self.session_id = session_id
        self.lang = lang
        self.maxsize = maxsize
        self.queue: list[Event] = []
        self._waiter: asyncio.Future[None] | None = None
        self.overflowed = False
        self.closing: str | None = None  # "close" = for good (logout), "shutdown", ...
        self.last_seq = 0
        self.dropped = 0
        self.ping = False  # set by the hub's heartbeat ticker: write a comment line
        self.deadline = 0.0  # monotonic time after which the stream ends itself
        self.tab = tab  # the browser tab's own id (sessionStorage), for away/active reports
        self.active = True  # visible and used recently, as the tab last reported
        self.writing_since = 0.0  # monotonic start of a write not yet taken by the socket
        # Ends the stream even while its write is stuck (the transport's own handler sets it).
        self.abort: Callable[[], None] | None = None
        # The browser's tabs share this one stream; each reports for itself. Made on the
        # first report only: most streams never get one, and ten thousand stay open.
        self.tabs: dict[str, tuple[int, bool | None]] | None = None

    def note(self, tab: str, active: bool | None, n: int) -> bool:
        """A tab of this stream's browser is in use, or not, or gone (None); False when the
        report is older than one already seen from that tab (`n` orders a tab's reports).

        The stream counts as in use while any tab is; with no tab left it keeps the last
        word, so a reload (gone, then the same tab back) shows no flap."""
        tabs = self.tabs if self.tabs is not None else {}
        self.tabs = tabs
        seen = tabs.get(tab)
        if seen is not None and n and n <= seen[0]:
            return False
        tabs[tab] = (n, active)
        if len(tabs) > MAX_TABS:  # forget the longest-gone first, never an open tab
            oldest = min(tabs, key=lambda t: (tabs[t][1] is not None, tabs[t][0]))
            del tabs[oldest]
        open_tabs = [a for _, a in tabs.values() if a is not None]
        if open_tabs:
            self.active = any(open_tabs)
        return True

    @property
    def pending(self) -> bool:
        """Something for the stream to do: events, a ping, or an end."""
        return bool(self.queue) or self.closing is not None or self.overflowed or self.ping

    async def wait(self) -> None:
        """Sleep until `pending` (returns at once if it already is)."""
        if self.pending:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def push(self, event: Event) -> str | None:
        """Queue an event; returns "dropped", "coalesced" or "overflow" when it was not queued."""
        if self.closing or self.overflowed:
            return None
        queue = self.queue
        if event.coalesce_key is not None:
            for index, queued in enumerate(queue):
                if queued.coalesce_key == event.coalesce_key:
                    del queue[index]
                    queue.append(event)
                    return "coalesced"
        if len(queue) >= self.maxsize:
            if event.droppable:
                self.dropped += 1
                return "dropped"
            # Messages and read marks are never dropped: end the stream, the client resumes
            # with Last-Event-ID and gets them from the replay buffer.
            self.overflowed = True
            queue.clear()
            self.wake()
            if self.writing_since:  # stuck in a write: it would never get to see the flag
                self.cut("overflow")
            return "overflow"
        queue.append(event)
        self.wake()
        return None

    def close(self, reason: str) -> None:
        self.closing = reason
        self.wake()

    def cut(self, reason: str) -> None:
        """End the stream now, even mid-write: the client resumes with Last-Event-ID."""
        self.close(reason)
        abort, self.abort = self.abort, None  # once
        self.writing_since = 0.0
        if abort is not None:
            abort()

    def drain(self) -> list[Event]:
        """Everything queued, skipping what replay already sent."""
        last = self.last_seq
        events = [e for e in self.queue if e.seq > last]
        self.queue = []
        if events:
            self.last_seq = events[-1].seq
        return events
