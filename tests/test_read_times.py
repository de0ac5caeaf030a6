"""Read times: each message shows when it was first read, in direct chats and in groups, and
keeps that time after a reload however often the reader reads on (issue 15, item 1)."""

import re
from datetime import datetime
from types import SimpleNamespace

import pytest

from app.models import membership
from app.receipts.state import ReadState


def read_times(page: str) -> dict[int, list[str]]:
    """message id -> the datetime values of its read mark's <time> elements."""
    marks = re.finditer(r'<(span|details) class="read-mark" id="read-mark-(\d+)"(.*?)</\1>',
                        page, re.S)
    return {int(m[2]): re.findall(r'<time[^>]*datetime="([^"]+)"', m[3]) for m in marks}


@pytest.fixture
def clock(monkeypatch):
    now = {"t": datetime(2026, 12, 2, 6, 43)}
    monkeypatch.setattr(membership, "utcnow", lambda: now["t"])
    return now


async def test_a_direct_chat_shows_when_each_message_was_first_read(make_user, clock):
    alice, bob = await make_user("alice"), await make_user("bob")
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)
    cid = int(r.headers["Location"].rsplit("/", 1)[1])
    await alice.post(f"/c/{cid}/messages", {"body": "first"})
    assert (await bob.post(f"/c/{cid}/read", {"up_to": "1"})).status_code == 204
    clock["t"] = datetime(2026, 12, 2, 6, 46)
    await alice.post(f"/c/{cid}/messages", {"body": "second"})
    await bob.post(f"/c/{cid}/read", {"up_to": "2"})
    _status, page = await alice.page(f"/c/{cid}")
    times = read_times(page)
    assert times[1] == ["2026-12-02T06:43:00Z"]  # not 06:46, bob's latest read
    assert times[2] == ["2026-12-02T06:46:00Z"]
    assert ">06:43<" in page and ">06:46<" in page
    # The history route (load older, resync) tells the same.
    _status, history = await alice.page(f"/c/{cid}/messages")
    assert read_times(history) == times


async def test_a_group_lists_each_reader_with_their_own_first_read_time(make_user, clock):
    alice, bob, chie = (await make_user("alice"), await make_user("bob", "Bob"),
                        await make_user("chie", "Chie"))
    r = await alice.post("/conversations", {"title": "Trip", "members": "bob, chie"},
                         htmx=False)
    cid = int(r.headers["Location"].rsplit("/", 1)[1])
    await alice.post(f"/c/{cid}/messages", {"body": "plans?"})
    await bob.post(f"/c/{cid}/read", {"up_to": "1"})
    clock["t"] = datetime(2026, 12, 2, 7, 5)
    await alice.post(f"/c/{cid}/messages", {"body": "anyone?"})
    await chie.post(f"/c/{cid}/read", {"up_to": "2"})
    await bob.post(f"/c/{cid}/read", {"up_to": "2"})
    _status, page = await alice.page(f"/c/{cid}")
    first = page[page.index('id="read-mark-1"'):page.index('id="read-mark-2"')]
    assert "Read by 2" in first
    # Bob read it at 06:43, Chie only at 07:05; the first reader is listed first.
    assert re.findall(r'reader-name">(\w+)<.*?datetime="([^"]+)"', first) == [
        ("Bob", "2026-12-02T06:43:00Z"), ("Chie", "2026-12-02T07:05:00Z")]


def test_reads_from_before_the_log_fall_back_to_the_reader_s_latest_read():
    latest = datetime(2026, 1, 1, 9, 0)
    state = ReadState(True, [(2, 9, latest, "Bob", "bob")], {})
    n, at, _who = state.for_message(SimpleNamespace(id=5, author_id=1))
    assert (n, at) == (1, latest)
