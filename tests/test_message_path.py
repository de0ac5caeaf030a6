"""The message path's fast reads (app/hot_reads.py) see every change at once, whoever made it:
rows changed straight in the database stand for another process or the command line."""

import inspect

from app.db import run_db
from app.members import current_members
from app.models import Membership, Message, Outbox, Session, User
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
