"""Starting chats and reading them: the list, the page, history, and who may see what."""

from app.db import run_db
from app.models import Conversation, Membership


async def start_direct(user, other: str) -> int:
    r = await user.post("/conversations", {"with": other}, htmx=False)
    assert r.status_code == 303, await r.get_data(as_text=True)
    return int(r.headers["Location"].rsplit("/", 1)[1])


async def test_starting_a_direct_chat_opens_it_and_a_second_start_reuses_it(make_user):
    alice, _bob = await make_user("alice"), await make_user("bob", "Bob B")
    first = await start_direct(alice, "Bob")
    again = await start_direct(alice, "bob")
    assert first == again
    status, page = await alice.page(f"/c/{first}")
    assert status == 200 and '<h1 data-name-of="bob">Bob B</h1>' in page
    assert await run_db(lambda: Conversation.select().count()) == 1


async def test_a_direct_chat_with_yourself_or_a_stranger_is_refused_with_a_message(make_user):
    alice = await make_user("alice")
    r = await alice.post("/conversations", {"with": "alice"}, htmx=False)
    assert r.status_code == 422 and "yourself" in await r.get_data(as_text=True)
    r = await alice.post("/conversations", {"with": "nobody"}, htmx=False)
    assert r.status_code == 422 and "nobody" in await r.get_data(as_text=True)
    assert await run_db(lambda: Conversation.select().count()) == 0


async def test_a_group_has_a_title_and_its_members(make_user):
    alice = await make_user("alice")
    await make_user("bob")
    await make_user("carol")
    r = await alice.post("/conversations", {"title": " Tea   room ", "members": "bob, Carol,,"},
                         htmx=False)
    assert r.status_code == 303
    cid = int(r.headers["Location"].rsplit("/", 1)[1])
    assert sorted(await run_db(Membership.member_ids, cid)) == [1, 2, 3]
    status, page = await alice.page(f"/c/{cid}")
    assert f'<h1 data-title-of="{cid}">Tea room</h1>' in page


async def test_a_group_with_unknown_members_or_no_title_is_refused_and_nothing_is_stored(make_user):
    alice = await make_user("alice")
    await make_user("bob")
    for form, words in [({"title": "x", "members": "bob,ghost"}, "ghost"),
                        ({"title": "", "members": "bob"}, "title"),
                        ({"title": "x", "members": "alice"}, "at least one")]:
        r = await alice.post("/conversations", form, htmx=False)
        assert r.status_code == 422
        assert words in await r.get_data(as_text=True)
    assert await run_db(lambda: Conversation.select().count()) == 0


async def test_an_unknown_or_foreign_conversation_is_a_404_not_a_403(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await make_user("eve")
    cid = await start_direct(alice, "bob")
    eve = await make_user("eve2")
    assert (await eve.page(f"/c/{cid}"))[0] == 404
    assert (await eve.page("/c/999"))[0] == 404
    assert (await eve.page(f"/c/{cid}/messages"))[0] == 404
    r = await eve.post(f"/c/{cid}/messages", {"body": "hi"})
    assert r.status_code == 404
    assert (await bob.page(f"/c/{cid}"))[0] == 200


async def test_the_list_shows_newest_activity_first_with_preview_and_unread_count(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await make_user("carol")
    with_bob = await start_direct(alice, "bob")
    with_carol = await start_direct(alice, "carol")
    await bob.page("/")
    for text in ("one", "two", "three"):
        assert (await bob.post(f"/c/{with_bob}/messages", {"body": text})).status_code == 201
    status, page = await alice.page("/")
    assert page.index(f'id="conv-{with_bob}"') < page.index(f'id="conv-{with_carol}"')
    assert f'data-conversation-id="{with_bob}" data-unread="3"' in page
    assert "three" in page


async def test_history_pages_back_fifty_at_a_time(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    cid = await start_direct(alice, "bob")

    def fill():
        from app.models import Message, User

        a = User.by_username("alice")
        conv = Conversation.get_by_id(cid)
        for n in range(120):
            Message.post(conv, a, f"message {n}", None)

    await run_db(fill)
    status, page = await bob.page(f"/c/{cid}")
    assert page.count('data-message-id="') == 50 and "message 119" in page and "message 69" not in page
    assert "Load older messages" in page
    status, older = await bob.page(f"/c/{cid}/messages?before=71", headers={"HX-Request": "true"})
    assert older.count('data-message-id="') == 50 and "message 20" in older
    assert "message 70" not in older and "Load older messages" in older
    status, oldest = await bob.page(f"/c/{cid}/messages?before=21", headers={"HX-Request": "true"})
    assert oldest.count('data-message-id="') == 20 and "Load older messages" not in oldest


async def test_the_page_speaks_japanese_to_a_japanese_browser(make_user):
    alice = await make_user("alice", lang="ja")
    status, page = await alice.page("/", headers={"Accept-Language": "ja,en;q=0.5"})
    assert '<html lang="ja">' in page
