"""The in-memory member list: bumped by the database on any membership change, even raw SQL."""

from app.db import database, run_db
from app.members import members_of
from app.models import Conversation, Membership, User


async def make_room(make_user, *names: str) -> int:
    users = [await make_user(n) for n in names]
    others = ", ".join(names[1:])
    r = await users[0].post("/conversations", {"title": "Tea", "members": others}, htmx=False)
    assert r.status_code == 303
    return int(r.headers["Location"].rsplit("/", 1)[1])


def fresh(cid: int) -> tuple[int, frozenset[int]]:
    """The room read anew, as every caller does: (members_version, members_of)."""
    room = Conversation.get_by_id(cid)
    return room.members_version, members_of(room)


def raw(sql: str, *params: object) -> None:
    database.execute_sql(sql, params)


def user_id(username: str) -> int:
    return User.get(User.username == username).id


async def test_raw_sql_inserts_and_deletes_bump_the_version_and_the_list_follows(make_user):
    cid = await make_room(make_user, "alice", "bob")
    await make_user("dave")
    dave = await run_db(user_id, "dave")
    version, members = await run_db(fresh, cid)
    assert members == {1, 2}
    await run_db(
        raw,
        "INSERT INTO membership (user_id, conversation_id, joined, "
        "last_read_message_id) VALUES (?, ?, '2024-01-01', 0)",
        dave,
        cid,
    )
    added, members = await run_db(fresh, cid)
    assert added > version and members == {1, 2, dave}
    await run_db(raw, "DELETE FROM membership WHERE conversation_id = ? AND user_id = 2", cid)
    removed, members = await run_db(fresh, cid)
    assert removed > added and members == {1, dave}


async def test_an_unchanged_room_gives_the_very_same_set_object(make_user):
    cid = await make_room(make_user, "alice", "bob", "carol")
    _, first = await run_db(fresh, cid)
    _, second = await run_db(fresh, cid)
    assert first is second


async def test_moving_a_read_watermark_leaves_the_version_and_the_set_alone(make_user):
    cid = await make_room(make_user, "alice", "bob")
    version, first = await run_db(fresh, cid)
    assert await run_db(Membership.advance, cid, 2, 5)
    after, second = await run_db(fresh, cid)
    assert (after, second) == (version, first) and second is first


async def test_moving_a_membership_to_another_room_bumps_both_rooms(make_user):
    tea = await make_room(make_user, "alice", "bob")
    cake = await make_room(make_user, "carol", "dave")
    (tea_v, _), (cake_v, _) = await run_db(fresh, tea), await run_db(fresh, cake)
    await run_db(
        raw,
        "UPDATE membership SET conversation_id = ? WHERE conversation_id = ? AND user_id = 2",
        cake,
        tea,
    )
    (tea_after, tea_members), (cake_after, cake_members) = (
        await run_db(fresh, tea),
        await run_db(fresh, cake),
    )
    assert tea_after > tea_v and cake_after > cake_v
    assert tea_members == {1} and cake_members == {2, 3, 4}


async def test_saving_a_room_read_earlier_never_rewinds_its_version(make_user):
    cid = await make_room(make_user, "alice", "bob")
    stale = await run_db(Conversation.get_by_id, cid)
    await run_db(raw, "DELETE FROM membership WHERE conversation_id = ? AND user_id = 2", cid)
    stale.title = "Renamed"
    await run_db(stale.save)
    version, members = await run_db(fresh, cid)
    assert version > stale.members_version and members == {1}
