"""The broker interface: number events, keep them for replay, fan them out to every process.

Backends: `memory` (one process, the default) and `redis` (scale-out), chosen by URL and
imported only when used. Local fan-out to streams is written once, in the hub.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from app.realtime.control import Control
from app.realtime.events import Event, EventId

Deliver = Callable[[Event], None]
Replay = AsyncIterator[list[Event]]  # what a resuming stream missed, in order, a batch at a time
REPLAY_BATCH = 25  # events per batch: about what one resuming stream holds at once


async def in_batches(events: Sequence[Event]) -> Replay:
    """Events already in memory, handed over like a broker's replay."""
    for start in range(0, len(events), REPLAY_BATCH):
        yield list(events[start:start + REPLAY_BATCH])
OnControl = Callable[[Control], None]


class Broker(Protocol):
    epoch: str
    single_process: bool  # every stream is on this process (so the hub sees them all)

    async def start(self, deliver: Deliver, control: OnControl) -> None:
        """Begin delivering every published event (from any process) to `deliver`, and every
        control message to `control` (a lost broker connection arrives as ResyncAll)."""

    async def publish(self, event: Event) -> None:
        """Number the event, store it for its recipients' replay, and fan it out."""

    async def head(self) -> EventId:
        """The id of the newest event issued so far."""

    async def replay(self, user_id: int, after: EventId) -> Replay | None:
        """Events for the user after `after`, in order; None if `after` cannot be placed.
        Its cost follows what this user missed, not what everyone did."""

    async def send_control(self, message: Control) -> None:
        """A command for every process's hub (e.g. close a logged-out session's streams)."""

    async def healthy(self) -> bool:
        """Whether the broker can publish right now."""

    async def stop(self) -> None:
        """Stop delivering and release connections."""
