"""An event on its way to streams: rendered once per language, framed once per language."""

from __future__ import annotations

import base64
import secrets
import sys
import time
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate

from app.realtime import kinds, sse


def new_epoch() -> str:
    """A new event log's name: time-ordered and random, so ids issued before a restart (or
    by a Redis that lost its log) are never mistaken for new ones."""
    return f"{int(time.time()):x}{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True, order=True)
class EventId:
    """`<epoch>-<seq>`: epoch changes when the event log is lost, seq only grows within it."""

    epoch: str
    seq: int

    def __str__(self) -> str:
        return f"{self.epoch}-{self.seq}"

    @classmethod
    def parse(cls, raw: str | None) -> EventId | None:
        """None for anything that is not an id this server could have issued."""
        if not raw or len(raw) > 64:
            return None
        epoch, sep, seq = raw.strip().rpartition("-")
        # isascii(): "²".isdigit() is true, but int("²") is not a number we ever issued
        if (not sep or not epoch.isascii() or not epoch.isalnum() or not seq.isascii()
                or not seq.isdigit() or len(seq) > 18):
            return None
        return cls(epoch, int(seq))


@dataclass(slots=True, eq=False)
class Event:
    """What happened, who may see it, and its HTML per language."""

    kind: str
    recipients: frozenset[int]
    html: dict[str, str]
    # a newer queued event with the same key replaces an older one for a slow client
    coalesce_key: str | None = None
    # published at most once: a second publish with the same key is dropped by the broker
    # (the outbox relay may retry what a dead process had already published)
    once_key: str | None = None
    seq: int = 0
    epoch: str = ""
    created: float = field(default_factory=time.time)
    frames: dict[str, bytes] = field(default_factory=dict)

    @property
    def droppable(self) -> bool:
        return self.kind in kinds.DROPPABLE

    @property
    def id(self) -> EventId:
        return EventId(self.epoch, self.seq)

    def encode(self) -> None:
        """Frame once per language, after the broker has numbered the event."""
        event_id = str(self.id)
        self.frames = {lang: sse.frame(html, event_id=event_id) for lang, html in self.html.items()}

    def frame_for(self, lang: str) -> bytes:
        if not self.frames:
            self.encode()
        return self.frames.get(lang) or next(iter(self.frames.values()))

    def to_wire(self) -> dict[str, object]:
        return {
            "k": self.kind, "rz": pack_ids(self.recipients), "h": self.html,
            "c": self.coalesce_key, "o": self.once_key, "s": self.seq, "e": self.epoch,
            "t": self.created,
        }

    @classmethod
    def from_wire(cls, data: dict[str, object]) -> Event:
        event = cls(
            kind=str(data["k"]), recipients=recipients_on_wire(data),
            html=dict(data["h"]),  # type: ignore[arg-type]
            coalesce_key=data.get("c"),  # type: ignore[arg-type]
            once_key=data.get("o"),  # type: ignore[arg-type]
            seq=int(data["s"]), epoch=str(data["e"]), created=float(data["t"]),  # type: ignore[arg-type]
        )
        event.encode()
        return event


def pack_ids(ids: Iterable[int]) -> str:
    """User ids for the wire: sorted, delta-encoded, compressed. A room of 10,000 members is
    about 600 bytes instead of 60 KB of JSON in every stored event (the Redis stream
    keeps tens of thousands) and in every process's copy."""
    ordered = sorted(ids)
    deltas = array("q", (b - a for a, b in zip([0, *ordered], ordered, strict=False)))
    if sys.byteorder == "big":  # the wire is little-endian, whatever the host
        deltas.byteswap()
    return base64.b64encode(zlib.compress(deltas.tobytes(), 1)).decode("ascii")


def unpack_ids(packed: str) -> frozenset[int]:
    deltas = array("q")
    deltas.frombytes(zlib.decompress(base64.b64decode(packed)))
    if sys.byteorder == "big":
        deltas.byteswap()
    return frozenset(accumulate(deltas))


def recipients_on_wire(data: dict[str, object]) -> frozenset[int]:
    """The recipients of a stored or published event; "r" (a plain list) is what events
    written before the packed form carry."""
    if "rz" in data:
        return unpack_ids(str(data["rz"]))
    return frozenset(data.get("r", ()))  # type: ignore[arg-type]
