"""Who is in a group, its title, and people's names: each change committed together with
the outbox row that announces it (models/outbox.py), so a crash between the commit and the
publish loses no announcement (the relay publishes it)."""

from __future__ import annotations

from peewee import IntegrityError

from app.db import database
from app.models import GROUP, Conversation, Membership, Outbox, User

ROOM_CHANGED = "room-changed"  # an outbox kind: a title or the members changed
NAME_CHANGED = "name-changed"  # an outbox kind: a person's display name changed


def group_of(conversation_id: int, user_id: int) -> Conversation | None:
    """The group, if `user_id` is in it (direct chats are never managed)."""
    room = Membership.conversation_for(conversation_id, user_id)
    return room if room is not None and room.kind == GROUP else None


def rename(conversation_id: int, actor_id: int, title: str) -> int | None:
    """Store the new title; the outbox row to settle, or None if nothing changed."""
    with database.atomic():
        changed = (Conversation.update(title=title)
                   .where((Conversation.id == conversation_id) & (Conversation.title != title))
                   .execute())
        if not changed:
            return None
        return Outbox.record(ROOM_CHANGED, conversation=conversation_id, actor=actor_id,
                             title=title, joined=[], left=[])


def add(conversation_id: int, actor_id: int, people: list[User]) -> tuple[list[int], int | None]:
    """Add who is not yet a member; (the ids added, the outbox row or None).

    A newcomer starts having read everything already there: a group's past is history to
    them, not a pile of unread messages."""
    with database.atomic():
        room = Conversation.get_by_id(conversation_id)
        already = set(Membership.member_ids(conversation_id))
        added = []
        for person in people:
            if person.id in already:
                continue
            try:
                with database.atomic():
                    Membership.create(conversation=conversation_id, user=person.id,
                                      last_read_message_id=room.last_message_id)
            except IntegrityError:  # added by someone else at the same moment
                continue
            added.append(person.id)
        if not added:
            return [], None
        return added, Outbox.record(ROOM_CHANGED, conversation=conversation_id, actor=actor_id,
                                    joined=added, left=[])


def remove(conversation_id: int, actor_id: int, user_id: int) -> int | None:
    """Take `user_id` out of the group (leaving, when it is the actor); the outbox row."""
    with database.atomic():
        gone = (Membership.delete()
                .where((Membership.conversation == conversation_id)
                       & (Membership.user == user_id)).execute())
        if not gone:
            return None
        return Outbox.record(ROOM_CHANGED, conversation=conversation_id, actor=actor_id,
                             joined=[], left=[user_id])


def announce_start(conversation_id: int, actor_id: int, others: list[int]) -> int:
    """Inside the transaction creating a room: tell its other members it is in their list."""
    return Outbox.record(ROOM_CHANGED, conversation=conversation_id, actor=actor_id,
                         joined=others, left=[])


def rename_person(user_id: int, name: str) -> int | None:
    """Store a new display name; the outbox row, or None if it is the same."""
    with database.atomic():
        changed = (User.update(display_name=name)
                   .where((User.id == user_id) & (User.display_name != name)).execute())
        return Outbox.record(NAME_CHANGED, user=user_id) if changed else None


def contacts_of(user_id: int) -> set[int]:
    """Everyone who shares a conversation with `user_id`, and the person themself."""
    rooms = Membership.select(Membership.conversation).where(Membership.user == user_id)
    query = Membership.select(Membership.user).where(Membership.conversation.in_(rooms))
    return {uid for (uid,) in query.tuples()} | {user_id}
