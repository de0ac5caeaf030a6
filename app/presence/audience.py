"""Who may see whose presence, computed for a whole batch of changes in two queries."""

from __future__ import annotations

from collections import defaultdict

from app.models import Membership, User


def batch_audience(changed: list[int]) -> tuple[dict[int, User], dict[int, frozenset[int]],
                                                 list[int]]:
    """(changed users, recipient -> the changed users they share a conversation with,
    operator ids). Walks conversations, not pairs: one big room costs its size, not its
    size squared."""
    users = {u.id: u for u in User.select().where(User.id.in_(changed))}
    operators = [u.id for u in User.select(User.id).where(User.role == "operator")]
    theirs = Membership.select(Membership.conversation).where(Membership.user.in_(changed))
    rows = (Membership.select(Membership.conversation, Membership.user)
            .where(Membership.conversation.in_(theirs)).tuples())
    members: dict[int, list[int]] = defaultdict(list)
    for conversation_id, user_id in rows:
        members[conversation_id].append(user_id)
    wanted = set(changed)
    visible: dict[int, frozenset[int]] = {}
    for people in members.values():
        here = frozenset(p for p in people if p in wanted)
        for person in people:
            seen = visible.get(person)
            # Reuse the same frozenset where possible: equal sets then group for free.
            visible[person] = here if seen is None or seen == here else seen | here
    return users, visible, operators


def group_by_view(visible: dict[int, frozenset[int]], exclude: set[int]
                  ) -> dict[frozenset[int], list[int]]:
    """Recipients who would see exactly the same change share one rendered event."""
    groups: dict[frozenset[int], list[int]] = defaultdict(list)
    for recipient, seen in visible.items():
        if recipient not in exclude:
            groups[seen].append(recipient)
    return groups
