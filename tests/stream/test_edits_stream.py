"""Edits and deletes over real streams: every member's stream hears them, outsiders never,
and a stream that resumes after missing one gets it on replay."""

from __future__ import annotations

from tests.support import Person, Server


def changed(event) -> bool:
    return 'data-event="message-changed"' in event.data


async def test_an_edit_reaches_the_members_and_never_an_outsider(server: Server, listen):
    alice, bob, eve = (Person(server.url, n, lang="en") for n in ("alice", "bob", "eve"))
    room = alice.start_direct("bob")
    alice.send(room, "helo")
    a, b, e = [await listen(p) for p in (alice, bob, eve)]
    assert alice.post(f"/c/{room}/messages/1/edit", {"body": "hello"}).status_code == 200
    for stream in (a, b):
        event = await stream.wait_for(changed)
        assert "hello" in event.data and "(edited)" in event.data and "helo<" not in event.data
    dm = bob.start_direct("eve")
    bob.send(dm, "sentinel for eve")
    await e.wait_text("sentinel for eve")
    assert not any(changed(ev) for ev in e.events)
    for p in (alice, bob, eve):
        p.close()


async def test_a_delete_missed_while_away_arrives_on_resume(server: Server, listen):
    alice, bob = (Person(server.url, n, lang="ja") for n in ("alice", "bob"))
    room = alice.start_direct("bob")
    b = await listen(bob)
    alice.send(room, "secret")
    seen = await b.wait_text("secret")
    await b.close()
    assert alice.post(f"/c/{room}/messages/1/delete").status_code == 200
    again = await listen(bob, last_event_id=seen.id)
    event = await again.wait_for(changed)
    assert "このメッセージは削除されました" in event.data and "secret" not in event.data
    assert "data-deleted" in event.data
    for p in (alice, bob):
        p.close()
