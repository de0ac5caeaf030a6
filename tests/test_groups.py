"""Managing groups and changing names: who may, what is refused, and who is told."""

from __future__ import annotations

from app.db import run_db
from app.groups import store
from app.models import Conversation, Membership, Message, Outbox, User


def stream_of(app, user_id: int):
    """An open stream of `user_id` on the in-process hub: what it would be sent."""
    return app.kehai.hub.open(user_id, f"session-{user_id}", "en")


def kinds(conn) -> list[str]:
    return [e.kind for e in conn.drain()]


async def group(owner, title: str, members: str) -> int:
    r = await owner.post("/conversations", {"title": title, "members": members}, htmx=False)
    assert r.status_code == 303, await r.get_data(as_text=True)
    return int(r.headers["Location"].rsplit("/", 1)[1])


async def member_ids(cid: int) -> list[int]:
    return sorted(await run_db(Membership.member_ids, cid))


async def test_a_member_renames_the_group_and_every_member_is_told(app, make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    cid = await group(alice, "Tea", "bob")
    bobs = stream_of(app, 2)
    app.kehai.hub.open(2, "bob-in-japanese", "ja")  # so the line is rendered in Japanese too
    r = await alice.post(f"/c/{cid}/title", {"title": "  Tea   and cake "}, htmx=False)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/c/{cid}/settings?saved=1")
    assert (await run_db(Conversation.get_by_id, cid)).title == "Tea and cake"
    room, line = bobs.drain()
    assert room.kind == "room-changed" and "Tea and cake" in room.html["en"]
    assert line.kind == "new-message"
    assert "Alice renamed the group to “Tea and cake”" in line.html["en"]
    assert "Aliceさんがグループ名を「Tea and cake」に変更しました" in line.html["ja"]
    await app.kehai.relay.settle.flush()  # marks are written together just after the reply
    assert await run_db(lambda: Outbox.select().where(Outbox.published.is_null()).count()) == 0


async def test_a_title_that_is_empty_or_too_long_is_refused_with_a_message(make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    cid = await group(alice, "Tea", "bob")
    for title in ("   ", "x" * 81):
        r = await alice.post(f"/c/{cid}/title", {"title": title}, htmx=False)
        assert r.status_code == 422
        assert "1–80 characters" in await r.get_data(as_text=True)
    assert (await run_db(Conversation.get_by_id, cid)).title == "Tea"


async def test_adding_people_names_the_unknown_and_the_added_find_the_group_at_once(
        app, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await make_user("carol")
    cid = await group(alice, "Tea", "bob")
    assert (await bob.post(f"/c/{cid}/messages", {"body": "before carol"})).status_code == 201
    carols = stream_of(app, 3)
    r = await alice.post(f"/c/{cid}/members", {"members": "carol, ghost, zed"}, htmx=False)
    assert r.status_code == 422 and "ghost, zed" in await r.get_data(as_text=True)
    assert await member_ids(cid) == [1, 2]
    r = await alice.post(f"/c/{cid}/members", {"members": " Carol ,bob"}, htmx=False)
    assert r.status_code == 303 and await member_ids(cid) == [1, 2, 3]
    assert kinds(carols) == ["room-changed", "room-joined", "new-message"]
    # What was said before she came is history to her, not unread.
    read_up_to = await run_db(lambda: Membership.find(cid, 3).last_read_message_id)
    before = await run_db(lambda: Message.get(Message.body == "before carol").id)
    assert read_up_to == before


async def test_too_many_names_at_once_are_refused(make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    cid = await group(alice, "Tea", "bob")
    names = ",".join(f"user{n}" for n in range(101))
    r = await alice.post(f"/c/{cid}/members", {"members": names}, htmx=False)
    assert r.status_code == 422 and "at most 100" in await r.get_data(as_text=True)


async def test_someone_removed_is_told_and_gets_nothing_more_of_that_room(app, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await make_user("carol")
    cid = await group(alice, "Tea", "bob,carol")
    carols, bobs = stream_of(app, 3), stream_of(app, 2)
    r = await alice.post(f"/c/{cid}/members/remove", {"username": "carol"}, htmx=False)
    assert r.status_code == 303 and await member_ids(cid) == [1, 2]
    assert kinds(carols) == ["room-left"]
    assert kinds(bobs) == ["room-changed", "new-message"]
    assert (await bob.post(f"/c/{cid}/messages", {"body": "after carol"})).status_code == 201
    assert kinds(bobs) == ["new-message"]
    assert kinds(carols) == []
    r = await alice.post(f"/c/{cid}/members/remove", {"username": "carol"}, htmx=False)
    assert r.status_code == 422 and "not in this group" in await r.get_data(as_text=True)


async def test_leaving_takes_one_out_and_back_to_the_list(app, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    cid = await group(alice, "Tea", "bob")
    alices = stream_of(app, 1)
    r = await bob.post(f"/c/{cid}/leave", htmx=False)
    assert r.status_code == 303 and r.headers["Location"].endswith("/")
    assert await member_ids(cid) == [1]
    assert kinds(alices) == ["room-changed", "new-message"]
    assert (await bob.page(f"/c/{cid}"))[0] == 404
    status, page = await alice.page(f"/c/{cid}")
    assert "Bob left" in page


async def test_an_outsider_cannot_see_rename_add_to_or_remove_from_a_group(make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    eve = await make_user("eve")
    cid = await group(alice, "Tea", "bob")
    assert (await eve.page(f"/c/{cid}/settings"))[0] == 404
    for path, form in [("title", {"title": "Eve's"}), ("members", {"members": "eve"}),
                       ("members/remove", {"username": "bob"}), ("leave", {})]:
        r = await eve.post(f"/c/{cid}/{path}", form, htmx=False)
        assert r.status_code == 404, path
    assert await member_ids(cid) == [1, 2]
    assert (await run_db(Conversation.get_by_id, cid)).title == "Tea"


async def test_a_direct_chat_cannot_be_managed(make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    await make_user("carol")
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)
    cid = int(r.headers["Location"].rsplit("/", 1)[1])
    assert (await alice.page(f"/c/{cid}/settings"))[0] == 404
    status, page = await alice.page(f"/c/{cid}")
    assert "Group settings" not in page
    for path, form in [("title", {"title": "x"}), ("members", {"members": "carol"}),
                       ("members/remove", {"username": "bob"}), ("leave", {})]:
        r = await alice.post(f"/c/{cid}/{path}", form, htmx=False)
        assert r.status_code == 422, path
        assert "direct chat" in await r.get_data(as_text=True)
    assert await member_ids(cid) == [1, 2]


async def test_managing_a_group_needs_the_pages_csrf_token(make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    cid = await group(alice, "Tea", "bob")
    alice.csrf = "forged"
    r = await alice.post(f"/c/{cid}/title", {"title": "Stolen"}, htmx=False)
    assert r.status_code == 403
    r = await alice.post(f"/c/{cid}/leave", htmx=False)
    assert r.status_code == 403
    assert (await run_db(Conversation.get_by_id, cid)).title == "Tea"
    assert await member_ids(cid) == [1, 2]


async def test_a_new_chat_is_in_the_other_persons_list_before_its_first_message(
        app, make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    await make_user("carol")
    bobs, carols = stream_of(app, 2), stream_of(app, 3)
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)
    assert r.status_code == 303
    assert "room-joined" in kinds(bobs) and kinds(carols) == []
    await group(alice, "Tea", "carol")
    assert "room-joined" in kinds(carols)
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)  # the same chat again
    assert "room-joined" not in kinds(bobs)


async def test_a_committed_change_that_was_never_published_goes_out_from_the_relay(
        app, make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    cid = await group(alice, "Tea", "bob")
    bobs = stream_of(app, 2)
    await run_db(store.rename, cid, 1, "Crashed after commit")  # and never published
    assert await app.kehai.relay.catch_up(grace_s=0.0) == 2  # the change and its line
    room, line = bobs.drain()
    assert room.kind == "room-changed" and "Crashed after commit" in room.html["ja"]
    assert line.kind == "new-message" and "Crashed after commit" in line.html["en"]
    assert await app.kehai.relay.catch_up(grace_s=0.0) == 0


async def test_a_new_display_name_is_trimmed_and_told_to_those_who_share_a_room(
        app, make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    await make_user("stranger")
    await group(alice, "Tea", "bob")
    bobs, strangers, alices = stream_of(app, 2), stream_of(app, 3), stream_of(app, 1)
    await alice.page("/settings")
    r = await alice.post("/settings", {"display_name": "  Aki \t Tanaka ", "show_presence": "on",
                                       "send_read_receipts": "on"}, htmx=False)
    assert r.status_code == 303
    assert (await run_db(User.by_username, "alice")).display_name == "Aki Tanaka"
    [event] = bobs.drain()
    assert event.kind == "name-changed" and "Aki Tanaka" in event.html["en"]
    assert 'hx-target="[data-name-of=&#34;alice&#34;]"' in event.html["en"]
    assert kinds(alices) == ["name-changed"] and kinds(strangers) == []


async def test_a_display_name_is_refused_as_at_registration(make_user):
    alice = await make_user("alice")
    await alice.page("/settings")
    for name, words in [("   ", "what to call you"), ("x" * 65, "under 64"),
                        ("Ali\u200bce", "visible characters")]:
        r = await alice.post("/settings", {"display_name": name}, htmx=False)
        assert r.status_code == 422, name
        assert words in await r.get_data(as_text=True)
    assert (await run_db(User.by_username, "alice")).display_name == "Alice"


async def test_the_group_settings_page_speaks_japanese(make_user):
    alice, _bob = await make_user("alice", lang="ja"), await make_user("bob")
    cid = await group(alice, "お茶会", "bob")
    status, page = await alice.page(f"/c/{cid}/settings", headers={"Accept-Language": "ja"})
    assert status == 200
    assert "グループ設定" in page and "グループを退会" in page and "メンバー（2人）" in page


async def test_a_line_in_the_history_says_who_added_whom_and_is_unread_only_for_the_others(
        make_user):
    aki, ben = await make_user("aki", "Aki", lang="ja"), await make_user("ben", "Ben")
    await make_user("cara", "Cara")
    await make_user("dan", "Dan")
    cid = await group(aki, "Tea", "ben")
    r = await aki.post(f"/c/{cid}/members", {"members": "cara,dan"}, htmx=False)
    assert r.status_code == 303
    status, page = await aki.page(f"/c/{cid}", headers={"Accept-Language": "ja"})
    assert "AkiさんがCaraさん、Danさんを追加しました" in page  # after a reload, too
    status, listing = await aki.page("/", headers={"Accept-Language": "ja"})
    assert f'data-conversation-id="{cid}" data-unread="0"' in listing
    status, listing = await ben.page("/")
    assert f'data-conversation-id="{cid}" data-unread="1"' in listing
    assert "Aki added Cara, Dan" in listing  # the list's preview
    r = await aki.post(f"/c/{cid}/members/remove", {"username": "dan"}, htmx=False)
    status, page = await ben.page(f"/c/{cid}")
    assert "Aki removed Dan" in page


async def test_names_and_titles_in_history_lines_stay_text(app, make_user):
    alice, _bob = await make_user("alice", "<b>Alice</b>"), await make_user("bob")
    cid = await group(alice, "Tea", "bob")
    bobs = stream_of(app, 2)
    payload = "<img src=x onerror=alert(1)> %(actor)s"
    assert (await alice.post(f"/c/{cid}/title", {"title": payload}, htmx=False)).status_code == 303
    room, line = bobs.drain()
    for html in (*room.html.values(), *line.html.values()):
        assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; %(actor)s" in line.html["en"]
    assert "&lt;b&gt;Alice&lt;/b&gt; renamed the group" in line.html["en"]


async def test_a_line_in_the_history_cannot_be_edited_or_deleted_even_by_its_actor(make_user):
    alice, _bob = await make_user("alice"), await make_user("bob")
    cid = await group(alice, "Tea", "bob")
    assert (await alice.post(f"/c/{cid}/title", {"title": "Cake"}, htmx=False)).status_code == 303
    line = await run_db(lambda: Message.get(Message.system == "renamed").id)
    r = await alice.post(f"/c/{cid}/messages/{line}/edit", {"body": "I did nothing"})
    assert r.status_code == 404
    assert (await alice.post(f"/c/{cid}/messages/{line}/delete")).status_code == 404
    assert (await run_db(Message.get_by_id, line)).body == "Cake"
