"""What the operators' dashboard shows for a user: one query per page, never one per row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import JOIN, fn

from app.models import Conversation, Membership, Message, User, UserStatus


@dataclass
class Row:
    user: User
    status: str  # online | away | offline | hidden
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
    """Each conversation's title; "#id" where it has none (direct chats)."""
    found = dict(Conversation.select(Conversation.id, Conversation.title)
                 .where(Conversation.id.in_(conversation_ids)).tuples()) if conversation_ids else {}
    return {cid: found.get(cid) or f"#{cid}" for cid in conversation_ids}


def page_of_users(query: str, status_ids: tuple[str, list[int]] | None, page: int,
                  per_page: int) -> tuple[list[User], int]:
    """A page of users matching the search, optionally restricted to (in|not_in, ids)."""
    q = User.select()
    if query:
        like = f"%{query.lower()}%"
        q = q.where(fn.LOWER(User.username).contains(query.lower())
                    | fn.LOWER(User.display_name) ** like)
    if status_ids is not None:
        mode, ids = status_ids
        q = q.where(User.id.in_(ids)) if mode == "in" else q.where(User.id.not_in(ids))
    total = q.count()
    users = list(q.order_by(User.display_name, User.id).paginate(page, per_page))
    return users, total
