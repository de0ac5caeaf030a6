"""The live stream against a real Hypercorn: delivery, privacy, resume, limits, shutdown."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import httpx
import pytest

from tests.support import Person, Server


@pytest.fixture
def people(server: Server):
    alice, bob, carol, eve = (Person(server.url, n) for n in ("alice", "bob", "carol", "eve"))
    yield alice, bob, carol, eve
    for p in (alice, bob, carol, eve):
        p.close()


async def test_a_message_reaches_every_members_stream_and_no_one_elses(people, listen):
    alice, bob, carol, eve = people
    room = alice.start_group("Tea", ["bob", "carol"])
    eves_room = eve.start_direct("alice")
    streams = {p.username: await listen(p) for p in (alice, bob, carol, eve)}
    assert alice.send(room, "secret plans").status_code == 201
    for name in ("alice", "bob", "carol"):
        event = await streams[name].wait_text("secret plans")
        assert 'data-event="new-message"' in event.data
    # The sentinel: once eve's stream shows a later message, an earlier one would have arrived.
    alice.send(eves_room, "sentinel for eve")
    await streams["eve"].wait_text("sentinel for eve")
    assert not any("secret plans" in e.data for e in streams["eve"].events)


async def test_the_same_bytes_go_to_every_recipient_of_a_language(people, listen):
    alice, bob, carol, _eve = people
    room = alice.start_group("Tea", ["bob", "carol"])
    b, c = await listen(bob), await listen(carol)
    alice.send(room, "identical")
    eb, ec = await b.wait_text("identical"), await c.wait_text("identical")
    assert eb.data == ec.data and eb.id == ec.id


async def test_first_frame_is_a_resync_with_an_id_and_retry(people, listen):
    alice = people[0]
    stream = await listen(alice)
    first = await stream.wait_for(lambda e: True)
    assert 'data-event="resync"' in first.data
    assert first.id and first.retry == 2000


async def test_a_dropped_stream_resumes_with_the_missed_events_in_order_without_duplicates(people, listen):
    alice, bob, *_ = people
    cid = alice.start_direct("bob")
    first = await listen(bob)
    alice.send(cid, "before the drop")
    seen = await first.wait_text("before the drop")
    await first.close()
    for n in range(5):
        alice.send(cid, f"missed {n}")
    resumed = await listen(bob, last_event_id=seen.id)
    alice.send(cid, "after the resume")
    await resumed.wait_text("after the resume")
    bodies = [e.data for e in resumed.of_kind("new-message")]
    order = [next(t for t in [f"missed {n}" for n in range(5)] + ["after the resume"] if t in d)
             for d in bodies]
    assert order == [f"missed {n}" for n in range(5)] + ["after the resume"]
    assert "resync" not in resumed.kinds
    assert not any("before the drop" in d for d in bodies)


@pytest.mark.parametrize("bad_id", ["", "garbage", "-5", "abc-999999999999", "9" * 500,
                                    "00000000-1", "abc-1-2"])
async def test_an_id_the_server_cannot_place_gets_resync_then_live_events(people, listen, bad_id):
    alice, bob, *_ = people
    cid = alice.start_direct("bob")
    stream = await listen(bob, last_event_id=bad_id)
    assert stream.status == 200
    first = await stream.wait_for(lambda e: True)
    assert 'data-event="resync"' in first.data
    alice.send(cid, "live after resync")
    await stream.wait_text("live after resync")


async def test_an_id_from_before_a_restart_gets_resync(tmp_path, listen):
    server = Server(tmp_path / "a").start()
    bob = Person(server.url, "bob")
    alice = Person(server.url, "alice")
    cid = alice.start_direct("bob")
    stream = await listen(bob)
    alice.send(cid, "old epoch")
    old = await stream.wait_text("old epoch")
    await stream.close()
    server.stop()
    server.start()
    try:
        again = await listen(bob, last_event_id=old.id)
        first = await again.wait_for(lambda e: True)
        assert 'data-event="resync"' in first.data
        assert first.id.split("-")[0] != old.id.split("-")[0]  # ids never repeat across restarts
    finally:
        server.stop()


async def test_anonymous_streams_get_401_not_a_redirect(server: Server):
    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.get("/sse", headers={"Accept": "text/event-stream"})
    assert r.status_code == 401


async def test_the_eleventh_stream_of_a_user_gets_429_with_retry_after(people, listen):
    alice = people[0]
    streams = [await listen(alice) for _ in range(10)]
    assert all(s.status == 200 for s in streams)
    async with httpx.AsyncClient(base_url=alice.base_url, cookies=alice.cookies()) as client:
        r = await client.get("/sse")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    await streams[0].close()
    await asyncio.sleep(0.3)
    again = await listen(alice)
    assert again.status == 200


async def test_logging_out_closes_that_sessions_streams_for_good(people, listen):
    alice, bob, *_ = people
    stream = await listen(bob)
    began = time.monotonic()
    r = bob.post("/logout", htmx=False)
    assert r.status_code == 303
    await asyncio.wait_for(stream.ended.wait(), 5)
    assert time.monotonic() - began < 5
    assert stream.events[-1].event == "close"


async def test_a_removed_member_stops_receiving_on_the_next_event(server: Server, people, listen):
    alice, bob, carol, _ = people
    room = alice.start_group("Tea", ["bob", "carol"])
    b, c = await listen(bob), await listen(carol)
    db = sqlite3.connect(server.instance / "kehai.sqlite3")
    db.execute("DELETE FROM membership WHERE conversation_id=? AND user_id="
               "(SELECT id FROM user WHERE username='bob')", (room,))
    db.commit()
    db.close()
    alice.send(room, "bob is gone")
    await c.wait_text("bob is gone")
    dm = alice.start_direct("bob")
    alice.send(dm, "sentinel for bob")
    await b.wait_text("sentinel for bob")
    assert not any("bob is gone" in e.data for e in b.events)


async def test_sigterm_ends_open_streams_promptly(tmp_path, listen):
    server = Server(tmp_path / "s").start()
    alice = Person(server.url, "alice")
    streams = [await listen(alice) for _ in range(5)]
    took = await asyncio.to_thread(server.stop)
    assert took < 2, f"shutdown took {took:.1f}s"
    for s in streams:
        await asyncio.wait_for(s.ended.wait(), 2)


async def test_changing_the_password_signs_out_other_sessions_and_closes_their_streams(
        server: Server, listen):
    laptop = Person(server.url, "alice", password="first password 1")
    phone = Person(server.url, "alice", password="first password 1", register=False)
    assert phone.login().status_code == 303
    phone_stream = await listen(phone)
    laptop_stream = await listen(laptop)
    r = laptop.post("/settings/password", {"current_password": "wrong one 123",
                                           "new_password": "second password 2"}, htmx=False)
    assert r.status_code == 422
    r = laptop.post("/settings/password", {"current_password": "first password 1",
                                           "new_password": "second password 2"}, htmx=False)
    assert r.status_code == 303
    await asyncio.wait_for(phone_stream.ended.wait(), 5)
    assert phone_stream.events[-1].event == "close"
    assert phone.http.get("/").status_code == 302  # signed out
    assert laptop.http.get("/").status_code == 200  # this browser stays signed in
    # the laptop's old session id was rotated too: its stream ends; the next page opens a new one
    await asyncio.wait_for(laptop_stream.ended.wait(), 5)
    assert (await listen(laptop)).status == 200


async def test_the_quart_route_serves_the_same_stream_as_the_lean_handler(tmp_path, listen):
    server = Server(tmp_path / "q", tuning={"lean_sse": False}).start()
    try:
        alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
        cid = alice.start_direct("bob")
        stream = await listen(bob)
        first = await stream.wait_for(lambda e: True)
        assert 'data-event="resync"' in first.data and first.retry == 2000
        alice.send(cid, "through quart")
        await stream.wait_text("through quart")
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/sse")).status_code == 401
    finally:
        server.stop()
