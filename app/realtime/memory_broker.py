"""The in-process broker: one process, no services, events numbered by a counter."""

from __future__ import annotations

from app.config import Config
from app.realtime.broker import Deliver, OnControl, Replay, in_batches
from app.realtime.control import Control
from app.realtime.events import Event, EventId, new_epoch
from app.realtime.replay import ReplayBuffer

ONCE_KEYS = 100_000  # far more than the outbox can hold unpublished


class MemoryBroker:
    single_process = True
    def __init__(self, config: Config) -> None:
        self.epoch = new_epoch()
        self.seq = 0
        self.replay_buffer = ReplayBuffer(
            config.replay_window_s, config.replay_min_events, config.replay_max_events
        )
        self._published: dict[str, None] = {}  # once keys, oldest first, bounded
        self._deliver: Deliver | None = None
        self._control: OnControl | None = None

    async def start(self, deliver: Deliver, control: OnControl) -> None:
        self._deliver, self._control = deliver, control

    async def publish(self, event: Event) -> None:
        if event.once_key is not None:
            if event.once_key in self._published:
                return  # already out: event.seq stays 0
            self._published[event.once_key] = None
            if len(self._published) > ONCE_KEYS:
                del self._published[next(iter(self._published))]
        self.seq += 1
        event.epoch, event.seq = self.epoch, self.seq
        event.encode()
        self.replay_buffer.add(event)
        if self._deliver is not None:
            self._deliver(event)

    async def head(self) -> EventId:
        return EventId(self.epoch, self.seq)

    async def replay(self, user_id: int, after: EventId) -> Replay | None:
        if after.epoch != self.epoch or after.seq > self.seq:
            return None
        missed = self.replay_buffer.since(user_id, after.seq, base_seq=0)
        return None if missed is None else in_batches(missed)

    async def send_control(self, message: Control) -> None:
        if self._control is not None:
            self._control(message)

    async def healthy(self) -> bool:
        return True

    async def stop(self) -> None:
        self._deliver = None
