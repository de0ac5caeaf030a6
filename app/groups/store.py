"""Who is in a group, its title, and people's names: each change committed together with
the outbox row that announces it (models/outbox.py), so a crash between the commit and the
publish loses no announcement (the relay publishes it)."""

from __future__ import annotations

from peewee import IntegrityError

from app.db import database
from app.models import Conversation, Membership, Message, Outbox, User

ROOM_CHANGED = "room-changed"  # an outbox kind: a title or the members changed
NAME_CHANGED = "name-changed"  # an outbox kind: a person's display name changed


Rows = list[int]  # outbox rows to publish, in order: the change, then its line in the history


def _line(conversation_id: int, actor_id: int, kind: str, body: str) -> int:
    """A line in the group's history saying what happened (migrations/0007), written by the
    actor: it moves the room up everyone's list and is unread for all but them."""
    room, actor = Conversation.get_by_id(conversation_id), User.get_by_id(actor_id)
    message, _created, row = Message.post(room, actor, body, None)
    Message.update(system=kind).where(Message.id == message.id).execute()
    assert row is not None  # a new message always has its row
    return row


def rename(conversation_id: int, actor_id: int, title: str) -> Rows:
    """Store the new title; the outbox rows to settle (none if nothing changed)."""
    with database.atomic():
        changed = (Conversation.update(title=title)
                   .where((Conversation.id == conversation_id) & (Conversation.title != title))
                   .execute())
        if not changed:
            return []
        return [Outbox.record(ROOM_CHANGED, conversation=conversation_id, actor=actor_id,
                              joined=[], left=[]),
                _line(conversation_id, actor_id, "renamed", title)]


def add(conversation_id: int, actor_id: int, people: list[User]) -> Rows:
    """Add who is not yet a member; the outbox rows (none if all were members already).

    A newcomer starts having read everything already there: a group's past is history to
    them, not a pile of unread messages."""
    with database.atomic():
        room = Conversation.get_by_id(conversation_id)
        already = set(Membership.member_ids(conversation_id))
        added: list[User] = []
        for person in people:
            if person.id in already:
                continue
            try:
                with database.atomic():
                    Membership.create(conversation=conversation_id, user=person.id,
                                      last_read_message_id=room.last_message_id)
            except IntegrityError:  # added by someone else at the same moment
                continue
            added.append(person)
        if not added:
            return []
        return [Outbox.record(ROOM_CHANGED, conversation=conversation_id, actor=actor_id,
                              joined=[p.id for p in added], left=[]),
                _line(conversation_id, actor_id, "added",
                      "\n".join(p.display_name for p in added))]


def remove(conversation_id: int, actor_id: int, user_id: int) -> Rows:
    """Take `user_id` out of the group (leaving, when it is the actor); the outbox rows."""
    with database.atomic():
        person = User.get_by_id(user_id)
        gone = (Membership.delete()
                .where((Membership.conversation == conversation_id)
                       & (Membership.user == user_id)).execute())
        if not gone:
            return []
        line = (_line(conversation_id, actor_id, "left", "") if actor_id == user_id
                else _line(conversation_id, actor_id, "removed", person.display_name))
        return [Outbox.record(ROOM_CHANGED, conversation=conversation_id, actor=actor_id,
                              joined=[], left=[user_id]), line]


def announce_start(conversation_id: int, actor_id: int, others: list[int]) -> Rows:
    """Inside the transaction creating a room: it joins its members' lists (the creator's
    other tabs too)."""
    return [Outbox.record(ROOM_CHANGED, conversation=conversation_id, actor=actor_id,
                          joined=others, left=[])]


def rename_person(user_id: int, name: str) -> Rows:
    """Store a new display name; the outbox rows (none if it is the same)."""
    with database.atomic():
        changed = (User.update(display_name=name)
                   .where((User.id == user_id) & (User.display_name != name)).execute())
        return [Outbox.record(NAME_CHANGED, user=user_id)] if changed else []


def contacts_of(user_id: int) -> set[int]:
    """Everyone who shares a conversation with `user_id`, and the person themself."""
    rooms = Membership.select(Membership.conversation).where(Membership.user == user_id)
    query = Membership.select(Membership.user).where(Membership.conversation.in_(rooms))
    return {uid for (uid,) in query.tuples()} | {user_id}
