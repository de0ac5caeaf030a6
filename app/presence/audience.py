"""Who may see whose presence, computed for a whole batch of changes.

Presence goes only where a dot of that person is on someone's screen: to everyone who shares
a direct chat or a small group with them, and in a group larger than SHOWN_MEMBERS only when
they are one of the members its page shows (conversations/show.html lists the first
SHOWN_MEMBERS by name; messages carry no dot). Pushing every arrival in a room of 10,000 to all
10,000 members would cost tens of millions of fragments for dots nobody can see.
"""

from __future__ import annotations

from collections import defaultdict

from app.members import members_of
from app.models import Conversation, Membership, User

SHOWN_MEMBERS = 20  # the member strip of a group page (also in its template)


def shown_members(conversation_id: int) -> list[User]:
    """The members a group's page shows with a dot, in the page's order."""
    return list(User.select().join(Membership)
                .where(Membership.conversation == conversation_id)
                .order_by(User.display_name, User.id).limit(SHOWN_MEMBERS))


def batch_audience(changed: list[int]) -> tuple[dict[int, User], dict[int, frozenset[int]],
                                                 list[int]]:
    """(the changed users someone can see, recipient -> the changed users whose dot they
    can see, operator ids).

    Walks conversations, not pairs, and reads a room's members from the members cache: one
    big room costs its size, not its size squared, and no member rows per batch. Only the
    users whose dot is on someone's screen are read: in a reconnect storm of one big room,
    reading every arrival's row was a fifth of the server's work (bench/fanout.py)."""
    operators = [u.id for u in User.select(User.id).where(User.role == "operator")]
    theirs: dict[int, list[int]] = defaultdict(list)
    for conversation_id, user_id in (Membership.select(Membership.conversation, Membership.user)
                                     .where(Membership.user.in_(changed)).tuples()):
        theirs[conversation_id].append(user_id)
    # No separate "your own status" event: in a big room that would be one event per arrival
    # (measured: +13 KiB per stream at 1,000). One's own dot follows wherever one is visible.
    visible: dict[int, frozenset[int]] = {}
    for conversation in Conversation.select().where(Conversation.id.in_(list(theirs))):
        members = members_of(conversation)
        here = theirs[conversation.id]
        if len(members) > SHOWN_MEMBERS:
            shown = {u.id for u in shown_members(conversation.id)}
            here = [u for u in here if u in shown]
            if not here:
                continue
        seen_here = frozenset(here)
        for person in members:
            seen = visible.get(person)
            # Reuse the same frozenset where possible: equal sets then group for free.
            visible[person] = (seen_here if seen is None or seen == seen_here
                               else seen | seen_here)
    on_screen = set().union(*set(visible.values()))
    users = ({u.id: u for u in User.select().where(User.id.in_(list(on_screen)))}
             if on_screen else {})
    return users, visible, operators


def group_by_view(visible: dict[int, frozenset[int]], exclude: set[int]
                  ) -> dict[frozenset[int], list[int]]:
    """Recipients who would see exactly the same change share one rendered event."""
    groups: dict[frozenset[int], list[int]] = defaultdict(list)
    for recipient, seen in visible.items():
        if recipient not in exclude:
            groups[seen].append(recipient)
    return groups
