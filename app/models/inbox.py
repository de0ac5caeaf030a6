"""The conversation list a user sees: titles, previews, unread counts, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from peewee import JOIN, fn

from app.models.conversation import Conversation
from app.models.membership import Membership
from app.models.message import Message
from app.models.user import User


@dataclass
class InboxItem:
    conversation: Conversation
    title: str
    partner: User | None  # the other person of a direct chat
    last: Message | None
    unread: int


def _partners(direct_ids: list[int], user_id: int) -> dict[int, User]:
    if not direct_ids:
        return {}
    rows = (
        Membership.select(Membership, User)
        .join(User)
        .where(Membership.conversation.in_(direct_ids) & (Membership.user != user_id))
    )
    return {m.conversation_id: m.user for m in rows}


def _last_messages(message_ids: list[int]) -> dict[int, Message]:
    if not message_ids:
        return {}
    rows = Message.select(Message, User).join(User).where(Message.id.in_(message_ids))
    return {m.id: m for m in rows}


def unread_counts(user_id: int) -> dict[int, int]:
    """The unread count of every conversation of the user that has any."""
    rows = (
        Message.select(Message.conversation, fn.COUNT(Message.id).alias("n"))
        .join(Membership, JOIN.INNER, on=(Membership.conversation == Message.conversation))
        .where(
            (Membership.user == user_id)
            & (Message.id > Membership.last_read_message_id)
            & (Message.author != user_id)
            & Message.deleted.is_null()  # taken back: nothing left to read
        )
        .group_by(Message.conversation)
        .tuples()
    )
    return dict(rows)


PER_PAGE = 100


def inbox(user_id: int, page: int = 1, per_page: int = PER_PAGE,
          unread: dict[int, int] | None = None) -> tuple[list[InboxItem], bool]:
    """One page of the list, newest first, and whether older conversations follow (so a
    flood of new rooms can push a chat off the first page, but never out of reach).
    `unread`: the counts if the caller has read them already (unread_counts).
    One query per concern, never one per row."""
    rows = list(
        Conversation.select()
        .join(Membership)
        .where(Membership.user == user_id)
        .order_by(Conversation.last_activity.desc(), Conversation.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    conversations, more = rows[:per_page], len(rows) > per_page
    partners = _partners([c.id for c in conversations if c.is_direct], user_id)
    lasts = _last_messages([c.last_message_id for c in conversations if c.last_message_id])
    if unread is None:
        unread = unread_counts(user_id)
    items = []
    for c in conversations:
        partner = partners.get(c.id)
        title = (partner.display_name if partner else "?") if c.is_direct else (c.title or "")
        last = lasts.get(c.last_message_id)
        items.append(InboxItem(c, title, partner, last, unread.get(c.id, 0)))
    return items, more


def first_unread(conversation_id: int, user_id: int, after: int) -> tuple[int | None, int]:
    """The first message the viewer has not read past `after` (their watermark) and how
    many there are, counted as the badges count them: where the "new messages" line goes."""
    first, n = (
        Message.select(fn.MIN(Message.id), fn.COUNT(Message.id))
        .where(
            (Message.conversation == conversation_id)
            & (Message.id > after)
            & (Message.author != user_id)
            & Message.deleted.is_null()
        )
        .tuples()
        .get()
    )
    return first, n


def conversation_view(
    conversation_id: int, user_id: int
) -> tuple[Conversation, Membership, list[User]] | None:
    """The conversation, the viewer's membership and all members; None if not a member."""
    membership = (
        Membership.select(Membership, Conversation)
        .join(Conversation)
        .where((Membership.conversation == conversation_id) & (Membership.user == user_id))
        .first()
    )
    if membership is None:
        return None
    return membership.conversation, membership, Membership.members(conversation_id)
