"""The operators' dashboard over a real stream: unread, typing and the charts arrive live."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stream.test_presence_stream import create_operator
from tests.support import Person, Server


@pytest.fixture
def fast_charts(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "srv", tuning={"dashboard_sample_s": 0.3}).start()
    yield srv
    srv.stop()


def row_of(username: str, column: str, value: str):
    """A stream event carrying `username`'s row with `column` showing `value`."""
    pattern = re.compile(rf'<tr data-user="{username}".*?data-col="{column}">{value}<', re.S)
    return lambda ev: pattern.search(ev.data) is not None


async def test_the_unread_backlog_grows_and_clears_live_on_an_operators_stream(server, listen):
    alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
    dm = alice.start_direct("bob")
    olga = create_operator(server, "olga")
    o = await listen(olga)
    r = alice.send(dm, "one")
    alice.send(dm, "two")
    await o.wait_for(row_of("bob", "unread", "2"))
    message_id = re.search(r'data-message-id="(\d+)"', r.text).group(1)
    assert bob.post(f"/c/{dm}/read", {"up_to": message_id}).status_code == 204
    await o.wait_for(row_of("bob", "unread", "1"))
    assert not any('<tr data-user="alice"' in ev.data and 'data-col="unread">1<' in ev.data
                   for ev in o.events)  # the author's own backlog never grows


async def test_typing_in_a_direct_chat_shows_both_people_to_an_operator(server, listen):
    alice = Person(server.url, "alice", "Aki Sato")
    Person(server.url, "bob", "Ben Ode")
    dm = alice.start_direct("bob")
    olga = create_operator(server, "olga")
    o = await listen(olga)
    assert alice.post(f"/c/{dm}/typing", {"body": "hel"}).status_code == 204
    await o.wait_for(lambda ev: '<tr data-user="alice"' in ev.data
                     and '<span class="typing-in">Aki Sato ↔ Ben Ode</span>' in ev.data)
    assert "#" + str(dm) not in o.events[-1].data



async def test_someone_signing_in_makes_every_dashboard_re_fetch_its_list(server, listen):
    olga = create_operator(server, "olga")
    alice = Person(server.url, "alice")
    o = await listen(olga)
    a = await listen(alice)
    refresh = await o.wait_for(lambda ev: 'data-dashboard="refresh"' in ev.data)
    assert 'hx-get="/dashboard/table"' in refresh.data and 'hx-trigger="load"' in refresh.data
    table = olga.http.get("/dashboard/table?status=online").text
    assert '<tr data-user="alice" data-status="online">' in table
    await a.close()


async def test_the_charts_are_pushed_to_operators_as_svg(fast_charts, listen):
    olga = create_operator(fast_charts, "olga")
    alice = Person(fast_charts.url, "alice")
    dm = alice.start_direct("olga")
    o, m = await listen(olga), await listen(alice)
    alice.send(dm, "counted")
    charts = await o.wait_for(lambda ev: 'data-dashboard="charts"' in ev.data
                              and re.search(r'data-last="messages">\w+ <strong>1<', ev.data))
    assert charts.data.count("<svg") == 4 and "<polyline" in charts.data
    assert not any('data-dashboard="charts"' in ev.data for ev in m.events)  # operators only
