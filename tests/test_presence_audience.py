"""Presence batches: who sees whom, computed per conversation, grouped by identical views."""

from app.db import run_db
from app.models import Conversation, Membership, User
from app.presence.audience import SHOWN_MEMBERS, batch_audience, group_by_view, shown_members


async def test_a_small_room_coming_online_is_one_view_for_everyone(app):
    def scenario():
        users = [User.create(username=f"u{n}", display_name=f"U{n:02}", password_hash="x")
                 for n in range(SHOWN_MEMBERS)]
        outsider = User.create(username="loner", display_name="Loner", password_hash="x")
        room = Conversation.create(kind="group", title="small")
        Membership.insert_many([{"conversation": room, "user": u} for u in users]).execute()
        lonely = Conversation.create(kind="group", title="alone")
        Membership.create(conversation=lonely, user=outsider)
        changed = [u.id for u in users[:15]] + [outsider.id]
        return users, outsider, batch_audience(changed)

    users, outsider, (found, visible, operators) = await run_db(scenario)
    groups = group_by_view(visible, set(operators))
    arrived = frozenset(u.id for u in users[:15])
    assert groups[arrived] == sorted(groups[arrived]) and len(groups[arrived]) == SHOWN_MEMBERS
    assert groups[frozenset({outsider.id})] == [outsider.id]  # nobody else sees the loner
    assert all(outsider.id not in seen for r, seen in visible.items() if r != outsider.id)
    assert len(found) == 16 and operators == []


async def test_in_a_big_room_only_the_members_its_page_shows_are_announced_to_it(app):
    """A room of 50 shows 20 members with a dot: their arrivals reach all 50, the others'
    reach nobody there (but a direct chat still tells the partner)."""
    def scenario():
        users = [User.create(username=f"u{n}", display_name=f"U{n:02}", password_hash="x")
                 for n in range(50)]
        room = Conversation.create(kind="group", title="big")
        Membership.insert_many([{"conversation": room, "user": u} for u in users]).execute()
        dm = Conversation.create(kind="direct")
        Membership.insert_many([{"conversation": dm, "user": u} for u in (users[0], users[40])]
                               ).execute()
        page = [u.id for u in shown_members(room.id)]
        return users, page, batch_audience([u.id for u in users])

    users, page, (_found, visible, _operators) = await run_db(scenario)
    assert page == [u.id for u in users[:SHOWN_MEMBERS]]  # the page's order: by name
    shown = frozenset(page)
    for user in users:
        expected = set(shown)
        if user.id in (users[0].id, users[40].id):
            expected |= {users[0].id, users[40].id}  # their direct chat
        assert visible[user.id] == expected, user.username
    hidden = users[SHOWN_MEMBERS + 1].id
    assert not any(hidden in seen for r, seen in visible.items() if r != hidden)
