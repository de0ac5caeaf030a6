"""The message path's fast reads (app/hot_reads.py) see every change at once, whoever made it:
rows changed straight in the database stand for another process or the command line."""

import asyncio
import inspect

from app.db import run_db
from app.i18n import LANGUAGES
from app.members import current_members
from app.models import Conversation, Membership, Message, Outbox, Session, User
from app.models.message import Draft
from app.realtime.languages import SeenLanguages
from tests.test_messages import setup_chat


async def test_a_session_deleted_in_the_database_cannot_send_the_next_message(make_user):
    alice, _bob, cid = await setup_chat(make_user)
    assert (await alice.post(f"/c/{cid}/messages", {"body": "first"})).status_code == 201
    await run_db(lambda: Session.delete().execute())
    r = await alice.post(f"/c/{cid}/messages", {"body": "after sign-out"})
    assert r.status_code == 401
    assert await run_db(lambda: Message.select().count()) == 1


async def test_a_member_removed_in_the_database_gets_404_and_no_further_messages(make_user):
    alice, bob, cid = await setup_chat(make_user)
    assert (await bob.post(f"/c/{cid}/messages", {"body": "hi"})).status_code == 201
    bob_id = await run_db(lambda: User.get(User.username == "bob").id)
    assert bob_id in await run_db(current_members, cid)  # the members cache holds him now
    await run_db(lambda: Membership.delete().where(Membership.user == bob_id).execute())
    r = await bob.post(f"/c/{cid}/messages", {"body": "still here?"})
    assert r.status_code == 404
    assert bob_id not in await run_db(current_members, cid)  # alice's next message skips him


async def test_a_name_changed_in_the_database_is_on_the_next_message(make_user):
    alice, _bob, cid = await setup_chat(make_user)
    assert (await alice.post(f"/c/{cid}/messages", {"body": "before"})).status_code == 201
    await run_db(lambda: User.update(display_name="Alice Renamed")
                 .where(User.username == "alice").execute())
    r = await alice.post(f"/c/{cid}/messages", {"body": "after"})
    assert r.status_code == 201 and "Alice Renamed" in await r.get_data(as_text=True)


async def test_no_template_context_processor_runs_in_a_thread(app):
    # A plain function would cost a hop to Quart's thread pool on every render (three per
    # message: the sender's fragment and one per language).
    processors = [p for ps in app.template_context_processors.values() for p in ps]
    assert processors and all(inspect.iscoroutinefunction(p) for p in processors), processors


async def test_a_burst_of_messages_is_marked_published_after_the_replies_and_never_sent_twice(
        app, make_user):
    # The outbox marks are written together after the replies (app/relay.py Settle): a relay
    # round that runs before they land must not send the burst to anyone a second time.
    alice, _bob, cid = await setup_chat(make_user)
    bobs = app.kehai.hub.open(2, "session-2", "en")
    for n in range(5):
        assert (await alice.post(f"/c/{cid}/messages", {"body": f"m{n}"})).status_code == 201
    assert await app.kehai.relay.catch_up(grace_s=0.0) == 0
    assert [e.kind for e in bobs.drain()] == ["new-message"] * 5
    unpublished = await run_db(lambda: Outbox.select().where(Outbox.published.is_null()).count())
    assert unpublished == 0


async def test_a_retry_of_a_message_that_was_never_announced_gets_its_announcement(make_user):
    # The first attempt was stored but its event never went out (the process died before
    # publishing): the retry must announce it itself, not wait for the relay.
    alice, _bob, cid = await setup_chat(make_user)
    sender = await run_db(lambda: User.get(User.username == "alice"))
    room = await run_db(lambda: Conversation.get_by_id(cid))
    first, created, row = await run_db(Message.post, room, sender, "hello", "c-9")
    assert created and row is not None
    again, created, same_row = await run_db(Message.post, room, sender, "hello", "c-9")
    assert (again.id, created, same_row) == (first.id, False, row)


async def test_messages_sent_together_are_stored_together_and_each_reply_is_its_own(
        app, make_user):
    # Posts that arrive while one is being written are written together (one transaction,
    # app/db.py Grouped); a double submit among them is still stored once.
    alice, bob, cid = await setup_chat(make_user)
    bobs = app.kehai.hub.open(2, "session-2", "en")
    sizes: list[int] = []
    grouped = app.kehai.messages._post
    run_many = grouped.run_many
    grouped.run_many = lambda drafts: sizes.append(len(drafts)) or run_many(drafts)
    sends = [alice.post(f"/c/{cid}/messages", {"body": f"a{n}", "client_id": f"a-{n}"})
             for n in range(6)]
    sends += [bob.post(f"/c/{cid}/messages", {"body": f"b{n}"}) for n in range(6)]
    sends.append(alice.post(f"/c/{cid}/messages", {"body": "a0", "client_id": "a-0"}))
    replies = await asyncio.gather(*sends)
    assert sorted(r.status_code for r in replies) == [200] + [201] * 12
    bodies = [await r.get_data(as_text=True) for r in replies]
    for n, body in enumerate(bodies[:6]):
        assert f">a{n}<" in body
    first_id = bodies[0].split('id="message-', 1)[1].split('"', 1)[0]
    assert ">a0<" in bodies[-1] and f'id="message-{first_id}"' in bodies[-1]
    stored = await run_db(lambda: sorted(m.body for m in Message.select()))
    assert stored == sorted([f"a{n}" for n in range(6)] + [f"b{n}" for n in range(6)])
    events = [e for e in bobs.drain() if e.kind == "new-message"]
    assert len(events) == 12
    assert max(sizes) > 1 and sum(sizes) == 13


async def test_a_group_with_a_message_for_a_deleted_room_stores_the_others(make_user):
    alice, _bob, cid = await setup_chat(make_user)

    def group() -> list:
        sender = User.get(User.username == "alice")
        room = Conversation.get_by_id(cid)
        gone = Conversation(id=cid + 1000, kind=room.kind)
        return Message.post_many([Draft(room, sender, "kept", "k-1"),
                                  Draft(gone, sender, "nowhere", "k-2"),
                                  Draft(room, sender, "kept too", None)])

    kept, failed, kept_too = await run_db(group)
    assert isinstance(failed, Exception)
    assert kept[1] and kept_too[1]
    assert await run_db(lambda: sorted(m.body for m in Message.select())) == ["kept", "kept too"]


async def test_a_message_is_rendered_in_the_languages_its_readers_use(app, make_user):
    # Rendering is one of a message's largest costs: a room that reads only English gets
    # no Japanese rendering; a reader in Japanese gets Japanese.
    alice, _bob, cid = await setup_chat(make_user)
    bob_id = await run_db(lambda: User.get(User.username == "bob").id)
    alice_id = await run_db(lambda: User.get(User.username == "alice").id)
    app.kehai.hub.open(alice_id, "session-a", "en")
    bobs = app.kehai.hub.open(bob_id, "session-b", "en")
    assert (await alice.post(f"/c/{cid}/messages", {"body": "hello"})).status_code == 201
    [event] = [e for e in bobs.drain() if e.kind == "new-message"]
    assert set(event.html) == {"en"}

    bob_ja = app.kehai.hub.open(bob_id, "session-b2", "ja")
    assert (await alice.post(f"/c/{cid}/messages", {"body": "こんにちは"})).status_code == 201
    [event] = [e for e in bob_ja.drain() if e.kind == "new-message"]
    assert set(event.html) == {"en", "ja"}
    assert "編集" in event.frame_for("ja").decode() and "Edit" in event.frame_for("en").decode()


def test_a_reader_never_seen_or_a_shared_broker_means_every_language():
    seen = SeenLanguages(complete=True)
    seen.saw(1, "en")
    assert seen.needed([1]) == ("en",)
    assert seen.needed([1], also="ja") == LANGUAGES
    assert seen.needed([1, 2]) == LANGUAGES  # 2 has no stream here: it may open in any
    shared = SeenLanguages(complete=False)  # Redis: other processes hold other streams
    shared.saw(1, "en")
    assert shared.needed([1]) == LANGUAGES
