"""Who is in a room, cached in memory and checked against the room's members_version.

Every message and typing broadcast needs the room's member ids; reading them costs one row per
member (10,000 in a big room). The database bumps conversation.members_version on any change to
the room's memberships (triggers, so raw SQL counts too), and every caller already holds a
conversation row read in the same request, so a cached list is used only while that version
matches: O(1) per event, never stale.
"""

from __future__ import annotations

from datetime import datetime

from app.db import read_now, run_db
from app.hot_reads import room_version
from app.models import Conversation, Membership

MAX_ROOMS = 10_000  # past this, start over rather than track recency: misses are cheap

# conversation id -> (members_version, created, member ids). Each entry is an immutable tuple
# replaced whole, so the run_db threads can read and write it without a lock. `created` tells
# apart a room that reuses a deleted room's id (SQLite may), whose counter starts over.
_cache: dict[int, tuple[int, datetime, frozenset[int]]] = {}


def members_of(conversation: Conversation) -> frozenset[int]:
    """The room's member ids as of `conversation.members_version` (call inside run_db)."""
    entry = _cache.get(conversation.id)
    if entry is not None and entry[:2] == (conversation.members_version, conversation.created):
        # The same frozenset object every time: hub.publish's frozenset(recipients) is then a
        # no-op, and the replay buffer shares one set among all of a room's events instead of
        # keeping a 10,000-id set per event.
        return entry[2]
    members = frozenset(Membership.member_ids(conversation.id))
    if len(_cache) >= MAX_ROOMS:
        _cache.clear()
    _cache[conversation.id] = (conversation.members_version, conversation.created, members)
    return members


def current_members(conversation_id: int) -> frozenset[int]:
    """Members as of now: reads the room's version (one primary-key lookup), then the cache."""
    cached = _cached(conversation_id)
    if cached is not None:
        return cached
    conversation = Conversation.get_or_none(Conversation.id == conversation_id)
    return members_of(conversation) if conversation is not None else frozenset()


def _cached(conversation_id: int) -> frozenset[int] | None:
    """The members if the cache holds the room's current version (none for a room that is
    gone); None if they must be read."""
    version = room_version(conversation_id)
    if version is None:
        return frozenset()
    entry = _cache.get(conversation_id)
    return entry[2] if entry is not None and entry[:2] == version else None


async def members_now(conversation_id: int) -> frozenset[int]:
    """current_members from the event loop: the version check is a hot read (inline on
    SQLite); only reading the members again, after they changed, goes to the pool."""
    cached = await read_now(_cached, conversation_id)
    if cached is not None:
        return cached
    return await run_db(current_members, conversation_id)
