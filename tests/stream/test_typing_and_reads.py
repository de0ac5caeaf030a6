"""Typing and read receipts over real streams: exact, expiring, private."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support import Person, Server


@pytest.fixture
def group(server: Server):
    alice, bob, carol, eve = (Person(server.url, n, lang="en") for n in
                              ("alice", "bob", "carol", "eve"))
    room = alice.start_group("Tea", ["bob", "carol"])
    yield alice, bob, carol, eve, room
    for p in (alice, bob, carol, eve):
        p.close()


def typing(event, text: str | None = None) -> bool:
    kind_ok = 'data-event="typing-start"' in event.data or 'data-event="typing-stop"' in event.data
    return kind_ok and (text is None or text in event.data)


async def test_typing_reaches_the_others_but_never_the_typist_or_outsiders(group, listen):
    alice, bob, carol, eve, room = group
    a, b, c, e = [await listen(p) for p in (alice, bob, carol, eve)]
    assert alice.post(f"/c/{room}/typing", {"body": "hel"}).status_code == 204
    await b.wait_for(lambda ev: typing(ev, "Alice is typing"))
    await c.wait_for(lambda ev: typing(ev, "Alice is typing"))
    # sentinels: a later message in a conversation each of them can see
    alice.send(room, "sentinel")
    await a.wait_text("sentinel")
    dm = bob.start_direct("eve")
    bob.send(dm, "sentinel for eve")
    await e.wait_text("sentinel for eve")
    assert not any(typing(ev) for ev in a.events)
    assert not any(typing(ev) for ev in e.events)


async def test_sending_clears_typing_at_once_and_silence_clears_it_after_the_expiry(group, listen):
    alice, bob, _carol, _eve, room = group
    b = await listen(bob)
    alice.post(f"/c/{room}/typing", {"body": "x"})
    await b.wait_for(lambda ev: typing(ev, "Alice is typing"))
    alice.send(room, "done")
    stop = await b.wait_for(lambda ev: 'data-event="typing-stop"' in ev.data)
    assert "is typing" not in stop.data
    await asyncio.sleep(1.1)  # typing posts are limited to one a second
    began = time.monotonic()
    assert alice.post(f"/c/{room}/typing", {"body": "again"}).status_code == 204
    await b.wait_for(lambda ev: ev is not stop and 'data-event="typing-stop"' in ev.data,
                     timeout=5)
    assert 1.0 < time.monotonic() - began < 4  # the configured expiry is 1.5 s


async def test_an_empty_composer_never_starts_typing(group, listen):
    alice, bob, _carol, _eve, room = group
    b = await listen(bob)
    assert alice.post(f"/c/{room}/typing", {"body": "   "}).status_code == 204
    alice.send(room, "sentinel")
    await b.wait_text("sentinel")
    assert not any(typing(ev) for ev in b.events)


async def test_two_typists_are_named_together_and_a_third_makes_it_several(group, listen):
    alice, bob, carol, _eve, room = group
    dave = Person(alice.base_url, "dave")
    watcher = Person(alice.base_url, "wendy")
    big = alice.start_group("Big", ["bob", "carol", "dave", "wendy"])
    w, a = await listen(watcher), await listen(alice)
    alice.post(f"/c/{big}/typing", {"body": "a"})
    bob.post(f"/c/{big}/typing", {"body": "b"})
    await w.wait_for(lambda ev: typing(ev, "Alice and Bob are typing"))
    await a.wait_for(lambda ev: typing(ev, "Bob is typing"))  # never "Alice" to alice
    carol.post(f"/c/{big}/typing", {"body": "c"})
    await w.wait_for(lambda ev: typing(ev, "Several people are typing"))
    dave.close()


async def test_japanese_readers_get_the_japanese_indicator(group, listen):
    alice, _bob, _carol, _eve, room = group
    bob_ja = Person(alice.base_url, "bob", register=False, lang="ja")
    bob_ja.login()
    b = await listen(bob_ja)
    alice.post(f"/c/{room}/typing", {"body": "x"})
    await b.wait_for(lambda ev: typing(ev, "Aliceさんが入力中"))


async def test_the_typists_last_stream_closing_clears_the_indicator(group, listen):
    alice, bob, _carol, _eve, room = group
    b = await listen(bob)
    a = await listen(alice)
    alice.post(f"/c/{room}/typing", {"body": "x"})
    await b.wait_for(lambda ev: typing(ev, "Alice is typing"))
    await a.close()
    await b.wait_for(lambda ev: 'data-event="typing-stop"' in ev.data, timeout=1.2)


async def test_typing_faster_than_once_a_second_gets_429_and_the_page_keeps_working(group):
    alice, _bob, _carol, _eve, room = group
    codes = [alice.post(f"/c/{room}/typing", {"body": "x"}).status_code for _ in range(3)]
    assert codes[0] == 204 and 429 in codes
    assert alice.send(room, "still works").status_code == 201


async def test_reading_moves_the_watermark_and_tells_the_author_only(group, listen):
    alice, bob, carol, eve, room = group
    r = alice.send(room, "read me")
    mid = int(r.text.split('data-message-id="')[1].split('"')[0])
    a, c, e = await listen(alice), await listen(carol), await listen(eve)
    b2 = await listen(bob)
    assert bob.post(f"/c/{room}/read", {"up_to": str(mid)}).status_code == 204
    mark = await a.wait_for(lambda ev: 'data-event="message-read"' in ev.data)
    assert f'id="read-mark-{mid}"' in mark.data and "Read by 1" in mark.data
    own = await b2.wait_for(lambda ev: 'data-event="message-read"' in ev.data)
    assert f'data-unread-of="{room}"' in own.data
    alice.send(room, "sentinel")
    await c.wait_text("sentinel")
    dm = carol.start_direct("eve")
    carol.send(dm, "sentinel for eve")
    await e.wait_text("sentinel for eve")
    assert not any('data-event="message-read"' in ev.data for ev in c.events + e.events)


async def test_bad_read_marks_are_refused_or_ignored_and_never_move_the_watermark_back(group):
    alice, bob, _carol, eve, room = group
    first = alice.send(room, "one").text.split('data-message-id="')[1].split('"')[0]
    second = alice.send(room, "two").text.split('data-message-id="')[1].split('"')[0]
    other = eve.start_direct("alice")
    foreign = eve.send(other, "elsewhere").text.split('data-message-id="')[1].split('"')[0]
    assert bob.post(f"/c/{room}/read", {"up_to": "abc"}).status_code == 422
    assert bob.post(f"/c/{room}/read", {"up_to": foreign}).status_code == 422
    assert bob.post(f"/c/{room}/read", {"up_to": "99999"}).status_code == 422
    assert bob.post(f"/c/{room}/read", {"up_to": second}).status_code == 204
    assert bob.post(f"/c/{room}/read", {"up_to": first}).status_code == 204  # ignored
    page = bob.http.get("/").text
    assert f'data-conversation-id="{room}" data-unread="0"' in page
    assert eve.post(f"/c/{room}/read", {"up_to": second}).status_code == 404
    assert eve.post(f"/c/{room}/typing", {"body": "x"}).status_code == 404


async def test_with_read_receipts_off_the_author_never_sees_your_reads(group, listen):
    alice, bob, _carol, _eve, room = group
    assert bob.post("/settings", {"show_presence": "on"}, htmx=False).status_code == 303
    mid = alice.send(room, "private read").text.split('data-message-id="')[1].split('"')[0]
    a = await listen(alice)
    b = await listen(bob)
    assert bob.post(f"/c/{room}/read", {"up_to": mid}).status_code == 204
    await b.wait_for(lambda ev: 'data-event="message-read"' in ev.data)  # own unread clears
    alice.send(room, "sentinel")
    await a.wait_text("sentinel")
    await asyncio.sleep(0.2)
    assert not any('data-event="message-read"' in ev.data for ev in a.events)
    page = alice.http.get(f"/c/{room}").text
    assert f'id="read-mark-{mid}" data-read-count="0"' in page


async def test_several_typists_who_all_go_quiet_leave_no_indicator_behind(group, listen):
    """A storm of typists reads "several people"; when they all stop without sending, every
    reader's indicator must end empty (never stuck on "several")."""
    alice, bob, carol, _eve, _room = group
    more = [Person(alice.base_url, name) for name in ("dave", "erin", "frank")]
    watcher = Person(alice.base_url, "wendy")
    big = alice.start_group("Big", ["bob", "carol", "wendy", *(p.username for p in more)])
    w = await listen(watcher)
    for person in (alice, bob, carol, *more):
        assert person.post(f"/c/{big}/typing", {"body": "x"}).status_code == 204
    await w.wait_for(lambda ev: typing(ev, "Several people are typing"))
    # Nobody sends: each indicator expires (1.5 s here) and the reader's line ends empty.
    await w.wait_for(lambda ev: 'data-event="typing-stop"' in ev.data
                     and "typing-text" not in ev.data and "typing…" not in ev.data, timeout=6)
    for person in more:
        person.close()
    watcher.close()
