"""What the operators' dashboard shows for a user: one query per page, never one per row."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from peewee import JOIN, fn

from app.models import DIRECT, Conversation, Membership, Message, User, UserStatus


@dataclass
class Row:
    user: User
    status: str  # online | away | offline | hidden
    since: datetime | None  # when the status began, as far as this process knows
    last_seen: datetime | None
    streams: int
    typing_in: str | None
    unread: int


@dataclass
class Stored:
    """What the database knows of a page of users: unread backlog and last seen."""

    unread: dict[int, int]
    seen: dict[int, datetime | None]


def unread_backlog(user_ids: list[int]) -> dict[int, int]:
    """Messages each user has not read yet, across all their conversations."""
    if not user_ids:
        return {}
    rows = (
        Membership.select(Membership.user, fn.COUNT(Message.id))
        .join(Message, JOIN.INNER, on=(
            (Message.conversation == Membership.conversation)
            & (Message.id > Membership.last_read_message_id)
            & (Message.author != Membership.user)))
        .where(Membership.user.in_(user_ids))
        .group_by(Membership.user)
        .tuples()
    )
    return dict(rows)


def stored(user_ids: list[int]) -> Stored:
    return Stored(unread_backlog(user_ids), UserStatus.last_seen_of(user_ids))


def titles(conversation_ids: list[int]) -> dict[int, str]:
    """Each conversation's title; for a direct chat its two people ("Aki ↔ Ben")."""
    if not conversation_ids:
        return {}
    found = {cid: (kind, title) for cid, kind, title in
             Conversation.select(Conversation.id, Conversation.kind, Conversation.title)
             .where(Conversation.id.in_(conversation_ids)).tuples()}
    direct = [cid for cid, (kind, _title) in found.items() if kind == DIRECT]
    people: dict[int, list[str]] = defaultdict(list)
    if direct:
        for cid, name in (Membership.select(Membership.conversation, User.display_name)
                          .join(User).where(Membership.conversation.in_(direct))
                          .order_by(Membership.conversation, User.id).tuples()):
            people[cid].append(name)
    return {cid: " ↔ ".join(people[cid]) if cid in people
            else (found.get(cid, ("", None))[1] or f"#{cid}") for cid in conversation_ids}


def _as_datetime(value: object) -> datetime | None:
    """A timestamp as the raw driver returns it: SQLite gives text, PostgreSQL a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def directory(query: str) -> list[tuple[int, str, bool, datetime | None]]:
    """(id, display name, shows presence, stored last seen) of everyone matching the search.

    Read through the driver's own cursor: building 10,000 peewee rows costs more than the
    query (the same reason as Membership.member_ids)."""
    q = (User.select(User.id, User.display_name, User.show_presence, UserStatus.last_seen)
         .join(UserStatus, JOIN.LEFT_OUTER, on=(UserStatus.user == User.id)))
    if query:
        like = f"%{query.lower()}%"
        q = q.where(fn.LOWER(User.username).contains(query.lower())
                    | fn.LOWER(User.display_name) ** like)
    rows = User._meta.database.execute(q).fetchall()
    return [(uid, name, bool(shows), _as_datetime(seen)) for uid, name, shows, seen in rows]


def users_by_id(user_ids: list[int]) -> list[User]:
    """The users, in the order given."""
    found = {u.id: u for u in User.select().where(User.id.in_(user_ids))} if user_ids else {}
    return [found[uid] for uid in user_ids if uid in found]
