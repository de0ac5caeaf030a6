"""Every acknowledged message reaches every member's live stream exactly once, whatever
crashes: the process between commit and publish, or the broker."""

from __future__ import annotations

import asyncio
import time

import httpx
import psycopg2

from tests.support import Person


def stored(pg_url: str, body: str) -> int:
    name = pg_url.rsplit("/", 1)[1]
    with psycopg2.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}") as db, \
            db.cursor() as cur:
        cur.execute("SELECT count(*) FROM message WHERE body = %s", (body,))
        return int(cur.fetchone()[0])


async def follow(listen, person, last_id: str, bodies: list[str], within: float = 30.0):
    """Every event a browser's stream gets until all `bodies` arrived: like hx-sse, it
    reconnects with the last id it saw whenever the stream ends or is refused (503 while
    the server's broker connection is not back yet)."""
    got: list = []
    deadline = time.monotonic() + within

    def complete(events: list) -> bool:
        return all(any(b in e.data for e in events) for b in bodies)

    while not complete(got) and time.monotonic() < deadline:
        stream = await listen(person, last_event_id=last_id)
        while time.monotonic() < deadline:
            if stream.ended.is_set() or complete(got + stream.events):
                break
            await asyncio.sleep(0.1)
        got.extend(stream.events)
        last_id = next((e.id for e in reversed(stream.events) if e.id), last_id)
        await stream.close()
        if not complete(got):
            await asyncio.sleep(0.5)
    return got


def people(a, b):
    """alice on A; bob on B; a direct chat between them."""
    alice = Person(a.url, "alice")
    Person(a.url, "bob").close()
    bob = Person(b.url, "bob", register=False)
    assert bob.login().status_code == 303
    return alice, bob, alice.start_direct("bob")


async def test_a_process_killed_between_commit_and_publish_loses_no_live_delivery(
        node, listen, pg_url):
    a, b = node(fault="after-commit"), node()
    alice, bob, cid = people(a, b)
    stream = await listen(bob)
    began = time.monotonic()
    try:
        alice.send(cid, "stored, then the sender died", client_id="c-1")
    except httpx.HTTPError:
        pass  # the process died before it could answer: the sender never got an ack
    assert a.proc.wait(10) == 137  # killed right after the commit, before publishing
    await stream.wait_text("stored, then the sender died", timeout=15)
    recovered = time.monotonic() - began
    # The sender retries on the other process with the same client_id: stored once, and
    # no second event (the relay already published it).
    alice_b = Person(b.url, "alice", register=False)
    assert alice_b.login().status_code == 303
    assert alice_b.send(cid, "stored, then the sender died", client_id="c-1").status_code == 200
    alice_b.send(cid, "a later message")
    await stream.wait_text("a later message", timeout=15)
    assert stored(pg_url, "stored, then the sender died") == 1
    live = [e for e in stream.events if "stored, then the sender died" in e.data]
    assert len(live) == 1, f"{len(live)} deliveries"
    print(f"recovered in {recovered:.2f} s")


async def test_a_retry_publishes_what_the_first_attempt_never_did(node, listen, pg_url):
    a, b = node(fault="after-commit"), node()
    alice, bob, cid = people(a, b)
    b.stop()  # no relay anywhere: only the retry can announce the message
    b = node()
    bob = Person(b.url, "bob", register=False)
    assert bob.login().status_code == 303
    try:
        alice.send(cid, "announced by the retry", client_id="c-2")
    except httpx.HTTPError:
        pass
    a.proc.wait(10)
    stream = await listen(bob)
    alice_b = Person(b.url, "alice", register=False)
    assert alice_b.login().status_code == 303
    assert alice_b.send(cid, "announced by the retry", client_id="c-2").status_code == 200
    await stream.wait_text("announced by the retry", timeout=15)
    assert stored(pg_url, "announced by the retry") == 1


async def test_messages_sent_while_redis_is_down_reach_live_streams_once_it_is_back(
        node, listen, own_redis, pg_url):
    own_redis.start(aof=True)  # it keeps its log: streams resume by replay, not resync
    a, b = node(redis_url=own_redis.url), node(redis_url=own_redis.url)
    alice, bob, cid = people(a, b)
    stream = await listen(bob)
    assert alice.send(cid, "before the outage").status_code == 201
    seen = await stream.wait_text("before the outage", timeout=15)
    own_redis.kill()
    during = [f"during the outage {n}" for n in range(5)]
    for body in during:
        assert alice.send(cid, body).status_code == 201  # acknowledged = stored
    began = time.monotonic()
    own_redis.start(aof=True)
    # The old stream ends when the broker goes away; the browser resumes from its last id.
    resumed = await follow(listen, bob, seen.id, during)
    recovered = time.monotonic() - began
    for body in during:
        assert stored(pg_url, body) == 1
        copies = [e for e in stream.events + resumed if body in e.data]
        assert len(copies) == 1, f"{body!r}: {len(copies)} deliveries"
    print(f"recovered in {recovered:.2f} s")


async def test_a_redis_that_lost_its_log_makes_streams_resync_and_loses_nothing_stored(
        node, listen, own_redis, pg_url):
    own_redis.start(aof=False)  # restarts empty: every id issued before is void
    a, b = node(redis_url=own_redis.url), node(redis_url=own_redis.url)
    alice, bob, cid = people(a, b)
    stream = await listen(bob)
    assert alice.send(cid, "before the loss").status_code == 201
    seen = await stream.wait_text("before the loss", timeout=15)
    own_redis.kill()
    during = [f"while Redis was away {n}" for n in range(3)]
    for body in during:
        assert alice.send(cid, body).status_code == 201
    own_redis.start(aof=False)
    for server in (a, b):  # both processes back on the broker
        deadline = time.monotonic() + 30
        while httpx.get(server.url + "/healthz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "a process never got its broker back"
            await asyncio.sleep(0.2)
    # The browser resumes with its last id; the log it came from is gone, so it is told to
    # resync (the page re-fetches what it shows, from the database), then gets live events.
    events = await follow(listen, bob, seen.id, ['data-event="resync"'], within=30)
    assert alice.send(cid, "after Redis came back").status_code == 201
    last = next((e.id for e in reversed(events) if e.id), seen.id)
    events += await follow(listen, bob, last, ["after Redis came back"], within=30)
    assert any("after Redis came back" in e.data for e in events)
    for body in during:
        assert stored(pg_url, body) == 1  # nothing acknowledged was lost
        assert sum(body in e.data for e in events) <= 1  # and nothing came twice
