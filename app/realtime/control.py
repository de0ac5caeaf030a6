"""Control messages: commands every process's hub hears, typed, with their wire form.

They travel beside events (the broker's control channel) but are never shown to anyone:
ending a signed-out session's streams, telling every stream to resume, and keeping each
process's copy of typing and presence state in step.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum


class Op(StrEnum):
    CLOSE_SESSIONS = "close-sessions"
    RESYNC_ALL = "resync-all"
    TYPING = "typing"
    PRESENCE = "presence"


@dataclass(frozen=True, slots=True)
class CloseSessions:
    """Close these sessions' streams for good (signed out, password changed)."""

    ids: tuple[str, ...]
    op: Op = Op.CLOSE_SESSIONS


@dataclass(frozen=True, slots=True)
class ResyncAll:
    """Every stream resumes (events may have been missed while the broker was away)."""

    op: Op = Op.RESYNC_ALL


@dataclass(frozen=True, slots=True)
class TypingChanged:
    """A typist started or stopped on the process `node`; the others keep their copy."""

    started: bool
    conversation_id: int
    user_id: int
    node: str
    op: Op = Op.TYPING


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """The status Redis decided for a user, for every process's local copy."""

    user_id: int
    status: str
    op: Op = Op.PRESENCE


Control = CloseSessions | ResyncAll | TypingChanged | PresenceChanged
_BY_OP: dict[str, type[Control]] = {
    Op.CLOSE_SESSIONS: CloseSessions, Op.RESYNC_ALL: ResyncAll, Op.TYPING: TypingChanged,
    Op.PRESENCE: PresenceChanged,
}


def encode(message: Control) -> str:
    return json.dumps(asdict(message), separators=(",", ":"))


def decode(raw: str) -> Control | None:
    """The message, or None for anything this version does not know (a newer process)."""
    try:
        data = json.loads(raw)
        kind = _BY_OP[data.pop("op")]
        if kind is CloseSessions:
            data["ids"] = tuple(str(i) for i in data["ids"])
        return kind(**data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
