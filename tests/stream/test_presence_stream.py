"""Presence over real streams: who is told, no flapping, nothing stuck after a crash."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from tests.support import Person, Server


def dot(event, username: str, status: str) -> bool:
    return (f'data-presence-of="{username}"' in event.data
            and f'data-status="{status}"' in event.data)


@pytest.fixture
def trio(server: Server):
    alice, bob, eve = (Person(server.url, n) for n in ("alice", "bob", "eve"))
    dm = alice.start_direct("bob")
    yield alice, bob, eve, dm
    for p in (alice, bob, eve):
        p.close()


async def test_presence_reaches_contacts_and_never_someone_who_shares_no_conversation(trio, listen):
    alice, bob, eve, dm = trio
    b, e = await listen(bob), await listen(eve)
    a = await listen(alice)
    await b.wait_for(lambda ev: dot(ev, "alice", "online"))
    # Sentinel for eve: a message in a conversation eve is in, sent after alice came online.
    carol = Person(alice.base_url, "carol")
    room = carol.start_direct("eve")
    carol.send(room, "sentinel")
    await e.wait_text("sentinel")
    assert not any('data-presence-of="alice"' in ev.data for ev in e.events)
    assert not any('data-presence-of="bob"' in ev.data for ev in e.events)
    await a.close()


async def test_a_reload_shows_no_offline_online_flicker_to_others(trio, listen):
    alice, bob, _eve, dm = trio
    b = await listen(bob)
    a = await listen(alice)
    await b.wait_for(lambda ev: dot(ev, "alice", "online"))
    await a.close()
    a2 = await listen(alice)  # the reload: a new stream well within the grace
    await asyncio.sleep(1.5)  # longer than the configured grace
    alice.send(dm, "after reload")
    await b.wait_text("after reload")
    assert not any(dot(ev, "alice", "offline") for ev in b.events)
    assert sum(dot(ev, "alice", "online") for ev in b.events) == 1
    await a2.close()


async def test_two_tabs_one_closed_stays_online_then_offline_after_the_last(trio, listen):
    alice, bob, _eve, dm = trio
    b = await listen(bob)
    t1, t2 = await listen(alice), await listen(alice)
    await b.wait_for(lambda ev: dot(ev, "alice", "online"))
    await t1.close()
    await asyncio.sleep(1.5)
    assert not any(dot(ev, "alice", "offline") for ev in b.events)
    await t2.close()
    await b.wait_for(lambda ev: dot(ev, "alice", "offline"), timeout=4)


async def test_a_hidden_tab_makes_you_away_and_using_it_brings_you_back(trio, listen):
    alice, bob, _eve, _dm = trio
    b = await listen(bob)
    a = await listen(alice)
    await b.wait_for(lambda ev: dot(ev, "alice", "online"))
    assert alice.post("/presence", {"state": "away"}).status_code == 204
    await b.wait_for(lambda ev: dot(ev, "alice", "away"))
    assert alice.post("/presence", {"state": "active"}).status_code == 204
    await b.wait_for(lambda ev: dot(ev, "alice", "online") and ev is not b.events[0])
    assert alice.post("/presence", {"state": "sideways"}).status_code == 422
    await a.close()


async def test_hiding_your_status_shows_you_offline_to_others(trio, listen):
    alice, bob, _eve, _dm = trio
    b = await listen(bob)
    a = await listen(alice)
    await b.wait_for(lambda ev: dot(ev, "alice", "online"))
    r = alice.post("/settings", {}, htmx=False)  # both boxes unticked
    assert r.status_code == 303
    await b.wait_for(lambda ev: dot(ev, "alice", "offline"))
    page = bob.http.get(f"/c/{_dm}").text
    assert 'data-presence-of="alice" data-status="offline"' in page
    await a.close()


async def test_a_member_gets_403_on_the_dashboard(trio):
    alice = trio[0]
    assert alice.http.get("/dashboard").status_code == 403


async def test_after_sigkill_nobody_is_left_online(tmp_path, listen):
    server = Server(tmp_path / "k").start()
    alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
    dm = alice.start_direct("bob")
    a = await listen(alice)
    await asyncio.sleep(0.3)
    assert 'data-presence-of="alice" data-status="online"' in bob.http.get(f"/c/{dm}").text
    server.stop(signal.SIGKILL)
    await a.close()
    server.start()
    try:
        page = httpx.get(f"{server.url}/c/{dm}", cookies=bob.cookies()).text
        assert 'data-presence-of="alice" data-status="offline"' in page
    finally:
        server.stop()


def create_operator(server: Server, name: str) -> Person:
    import os
    import subprocess
    import sys

    from tests.support import ROOT

    env = {**os.environ, "KEHAI_INSTANCE_DIR": str(server.instance)}
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "create-user", name,
                           "--display-name", "Olga Op", "--operator"],
                          input=b"operator password 1\nignored second line\n", env=env,
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    op = Person(server.url, name, password="operator password 1", register=False)
    assert op.login().status_code == 303
    return op


async def test_the_dashboard_row_updates_live_for_operators_only(server: Server, trio, listen):
    alice, bob, _eve, _dm = trio
    op = create_operator(server, "olga")
    page = op.http.get("/dashboard").text
    assert '<tr data-user="alice" data-status="offline">' in page
    o, b = await listen(op), await listen(bob)
    a = await listen(alice)
    row = await o.wait_for(lambda ev: '<tr data-user="alice" data-status="online">' in ev.data)
    assert 'data-col="streams">1<' in row.data
    await b.wait_for(lambda ev: dot(ev, "alice", "online"))
    assert not any("<tr data-user=" in ev.data for ev in b.events)  # members never get rows
    await a.close()
