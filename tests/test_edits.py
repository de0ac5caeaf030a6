"""Editing and deleting one's own messages: who may, what is checked, what is stored (issue
15, item 2). What the others see live is in tests/stream/test_edits_stream.py and the
browser tests."""

from app.db import run_db
from app.models import Message, Outbox


async def chat(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)
    cid = int(r.headers["Location"].rsplit("/", 1)[1])
    r = await alice.post(f"/c/{cid}/messages", {"body": "helo bob"})
    assert r.status_code == 201
    return alice, bob, cid


async def stored(message_id: int = 1) -> Message:
    return await run_db(Message.get_by_id, message_id)


async def test_an_author_edits_their_message_and_everyone_sees_it_marked_edited(app, make_user):
    alice, bob, cid = await chat(make_user)
    r = await alice.post(f"/c/{cid}/messages/1/edit", {"body": "  hello bob  "})
    assert r.status_code == 200
    assert "hello bob" in await r.get_data(as_text=True)
    message = await stored()
    assert message.body == "hello bob" and message.edited is not None
    _status, page = await bob.page(f"/c/{cid}")
    assert ">hello bob<" in page and "(edited)" in page and "helo bob" not in page
    # Announced through the outbox, in the edit's own transaction, and published (the marks
    # are written together just after the reply: app/relay.py Settle).
    await app.kehai.relay.settle.flush()
    rows = await run_db(lambda: list(Outbox.select().where(Outbox.kind == "message-changed")))
    assert len(rows) == 1 and rows[0].published is not None


async def test_only_the_author_may_change_a_message(make_user):
    alice, bob, cid = await chat(make_user)
    await bob.page(f"/c/{cid}")
    r = await bob.post(f"/c/{cid}/messages/1/edit", {"body": "bob was here"})
    assert r.status_code == 403 and "your own messages" in await r.get_data(as_text=True)
    assert (await bob.post(f"/c/{cid}/messages/1/delete")).status_code == 403
    assert (await stored()).body == "helo bob"


async def test_outsiders_and_wrong_rooms_get_404_and_change_nothing(make_user):
    alice, bob, cid = await chat(make_user)
    eve = await make_user("eve")
    assert (await eve.post(f"/c/{cid}/messages/1/edit", {"body": "x"})).status_code == 404
    assert (await eve.post(f"/c/{cid}/messages/1/delete")).status_code == 404
    r = await alice.post("/conversations", {"with": "eve"}, htmx=False)
    other = int(r.headers["Location"].rsplit("/", 1)[1])
    r = await alice.post(f"/c/{other}/messages/1/edit", {"body": "moved?"})
    assert r.status_code == 404 and "not in this conversation" in await r.get_data(as_text=True)
    r = await alice.post(f"/c/{cid}/messages/{10**30}/edit", {"body": "x"})
    assert r.status_code == 404
    assert (await stored()).body == "helo bob"


async def test_an_edit_is_validated_like_a_new_message(make_user):
    alice, _bob, cid = await chat(make_user)
    r = await alice.post(f"/c/{cid}/messages/1/edit", {"body": "   "})
    assert r.status_code == 422 and "Write something" in await r.get_data(as_text=True)
    r = await alice.post(f"/c/{cid}/messages/1/edit", {"body": "x" * 4001})
    assert r.status_code == 422 and "4,000" in await r.get_data(as_text=True)
    assert (await stored()).body == "helo bob"


async def test_without_the_csrf_token_nothing_changes(make_user):
    alice, _bob, cid = await chat(make_user)
    alice.csrf = ""
    r = await alice.post(f"/c/{cid}/messages/1/edit", {"body": "forged"})
    assert r.status_code in (400, 403)
    assert (await alice.post(f"/c/{cid}/messages/1/delete")).status_code in (400, 403)
    message = await stored()
    assert message.body == "helo bob" and message.deleted is None


async def test_a_deleted_message_loses_its_text_keeps_its_place_and_stops_counting(make_user):
    alice, bob, cid = await chat(make_user)
    await alice.post(f"/c/{cid}/messages", {"body": "second"})
    _status, listing = await bob.page("/")
    assert 'data-unread="2"' in listing
    r = await alice.post(f"/c/{cid}/messages/1/delete")
    assert r.status_code == 200
    message = await stored()
    assert message.deleted is not None and message.body == ""
    _status, page = await bob.page(f"/c/{cid}")
    assert "This message was deleted." in page and "helo bob" not in page
    assert 'id="message-1"' in page  # its place stays
    _status, listing = await bob.page("/")
    assert 'data-unread="1"' in listing
    # Taken back twice (a double click): still 200, and nobody is told again.
    assert (await alice.post(f"/c/{cid}/messages/1/delete")).status_code == 200
    rows = await run_db(lambda: Outbox.select().where(Outbox.kind == "message-changed").count())
    assert rows == 1
    # Nothing left to edit.
    r = await alice.post(f"/c/{cid}/messages/1/edit", {"body": "back?"})
    assert r.status_code == 409 and "deleted" in await r.get_data(as_text=True)


async def test_deleting_the_last_message_changes_the_preview_in_both_languages(make_user):
    alice, bob, cid = await chat(make_user)
    await alice.post(f"/c/{cid}/messages/1/delete")
    _status, listing = await bob.page("/")
    assert "Message deleted" in listing and "helo bob" not in listing
    _status, ja = await bob.page("/", headers={"Accept-Language": "ja"})
    assert "メッセージは削除されました" in ja
    _status, page = await bob.page(f"/c/{cid}", headers={"Accept-Language": "ja"})
    assert "このメッセージは削除されました" in page


async def test_an_edit_the_broker_refused_waits_in_the_outbox_and_the_relay_sends_it_once(
        app, make_user, monkeypatch):
    alice, bob, cid = await chat(make_user)
    hub = app.kehai.hub
    sent: list[tuple[str, str | None]] = []
    real = hub.broker.publish

    async def down(event):
        raise ConnectionError("broker away")

    monkeypatch.setattr(hub.broker, "publish", down)
    r = await alice.post(f"/c/{cid}/messages/1/edit", {"body": "hello bob"})
    assert r.status_code == 200  # stored: the edit is not lost, only not yet announced
    pending = await run_db(lambda: list(Outbox.select().where(
        (Outbox.kind == "message-changed") & Outbox.published.is_null())))
    assert len(pending) == 1

    async def record(event):
        sent.append((event.kind, event.once_key))
        await real(event)

    monkeypatch.setattr(hub.broker, "publish", record)
    assert await app.kehai.relay.catch_up(grace_s=0.0) == 1
    assert await app.kehai.relay.catch_up(grace_s=0.0) == 0  # published once, marked done
    assert sent == [("message-changed", f"outbox:{pending[0].id}")]
