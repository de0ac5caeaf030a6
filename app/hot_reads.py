"""The reads every POST makes, as plain SQL compiled once: who is signed in, and the room.

Each is compiled once (app/compiled.py); a call binds its parameters, runs it and turns the
row into a model the way peewee's own cursor wrapper does. Nothing is cached: a revoked
session or a removed member is seen by the very next request.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import Field

from app.compiled import Compiled, model
from app.models import Conversation, Membership, Session, User
from app.models.base import utcnow
from app.models.session import TOUCH_S, Lifetime

USER_FIELDS: list[Field] = User._meta.sorted_fields
ROOM_FIELDS: list[Field] = Conversation._meta.sorted_fields


_SESSION = Compiled(lambda: Session.select(Session.created, Session.last_seen, *USER_FIELDS)
                    .join(User).where(Session.id == "?"))
_ROOM = Compiled(lambda: Conversation.select(*ROOM_FIELDS).join(Membership)
                 .where((Membership.conversation == 0) & (Membership.user == 0)))
_VERSION = Compiled(lambda: Conversation.select(Conversation.members_version,
                                                Conversation.created)
                    .where(Conversation.id == 0))


def _live(created: datetime, last_seen: datetime | None, lifetime: Lifetime,
          now: datetime) -> bool:
    """Session._live, in Python (the same bounds, strictly)."""
    return (created > now - timedelta(seconds=lifetime.max_s)
            and (last_seen or created) > now - timedelta(seconds=lifetime.idle_s))


def session_user(session_id: str, lifetime: Lifetime) -> User | None:
    """Session.user_for: the user of a live session, or None; marks it used (at most once
    per TOUCH_S, as there)."""
    row = _SESSION.row(session_id)
    if row is None:
        return None
    created = Session.created.python_value(row[0])
    last_seen = Session.last_seen.python_value(row[1])
    now = utcnow()
    if not _live(created, last_seen, lifetime, now):
        return None
    if (now - (last_seen or created)).total_seconds() >= TOUCH_S:
        Session.update(last_seen=now).where(Session.id == session_id).execute()
    return model(User, USER_FIELDS, row[2:])  # type: ignore[no-any-return]


# The sessions of a reconnect storm's streams, looked up together: one statement per size,
# sizes rounded up to a power of two (padded with "", which no session id is) so that only a
# dozen statements are ever compiled.
LOOKUP_MAX = 512
_SESSIONS: dict[int, Compiled] = {}


def _sessions_of(n: int) -> Compiled:
    compiled = _SESSIONS.get(n)
    if compiled is None:
        compiled = _SESSIONS[n] = Compiled(
            lambda: Session.select(Session.id, Session.user, Session.created, Session.last_seen)
            .where(Session.id.in_(["?"] * n)))
    return compiled


def live_user_ids(session_ids: list[str], lifetime: Lifetime) -> dict[str, int]:
    """{session id: user id} of those sessions that are live now (unknown ones are left out).
    Unlike a page's request this does not mark the sessions used: a stream is not a visit."""
    found: dict[str, int] = {}
    now = utcnow()
    for start in range(0, len(session_ids), LOOKUP_MAX):
        chunk = session_ids[start:start + LOOKUP_MAX]
        size = 1 << (len(chunk) - 1).bit_length()
        for sid, user_id, created, last_seen in _sessions_of(size).rows(
                *chunk, *[""] * (size - len(chunk))):
            if _live(Session.created.python_value(created),
                     Session.last_seen.python_value(last_seen), lifetime, now):
                found[sid] = int(user_id)
    return found


def member_room(conversation_id: int, user_id: int) -> Conversation | None:
    """Membership.conversation_for: the room, if the user is a member of it."""
    row = _ROOM.row(conversation_id, user_id)
    return model(Conversation, ROOM_FIELDS, row) if row else None


def room_version(conversation_id: int) -> tuple[int, datetime] | None:
    """(members_version, created) of a room: what the members cache is checked against."""
    row = _VERSION.row(conversation_id)
    return (int(row[0]), Conversation.created.python_value(row[1])) if row else None
