"""Presence batches: who sees whom, computed per conversation, grouped by identical views."""

from app.db import run_db
from app.models import Conversation, Membership, User
from app.presence.audience import batch_audience, group_by_view


async def test_a_big_room_coming_online_is_one_view_for_everyone(app):
    def scenario():
        users = [User.create(username=f"u{n}", display_name=f"U{n}", password_hash="x")
                 for n in range(50)]
        outsider = User.create(username="loner", display_name="Loner", password_hash="x")
        room = Conversation.create(kind="group", title="big")
        Membership.insert_many([{"conversation": room, "user": u} for u in users]).execute()
        lonely = Conversation.create(kind="group", title="alone")
        Membership.create(conversation=lonely, user=outsider)
        changed = [u.id for u in users[:30]] + [outsider.id]
        return users, outsider, batch_audience(changed)

    users, outsider, (found, visible, operators) = await run_db(scenario)
    groups = group_by_view(visible, set(operators))
    big = frozenset(u.id for u in users[:30])
    assert groups[big] == sorted(groups[big]) and len(groups[big]) == 50
    assert groups[frozenset({outsider.id})] == [outsider.id]  # nobody else sees the loner
    assert all(outsider.id not in seen for r, seen in visible.items() if r != outsider.id)
    assert len(found) == 31 and operators == []
