"""Many tabs, one stream: a browser's tabs share the leading tab's stream over HTTP/1.1."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live
from tests.browser.helpers import (
    CONNECT_TIMEOUT_MS,
    ROLE,
    messages_by,
    open_streams,
    open_tabs,
    send_from,
    stream_connected,
)

TABS = 12


@pytest.fixture
def live(tmp_path: Path) -> Any:
    """The server, with the message rate limit lifted for bursts."""
    srv = Live(tmp_path / "srv", tuning={"message_limit": [1000, 10]})
    yield srv
    srv.close()


def message_ids(page: Any) -> list[int]:
    return [int(i) for i in page.locator("#messages [data-message-id]").evaluate_all(
        "(els) => els.map((e) => e.dataset.messageId)")]


def test_twelve_tabs_of_one_browser_load_stay_live_and_share_one_stream(
        live: Any, page_for: Any) -> None:
    alice, bob = live.person("alice"), live.person("bob")  # bob posts over HTTP: no stream
    conversation_id = bob.start_direct("alice")
    pages = open_tabs(page_for(alice), TABS, f"/c/{conversation_id}")
    assert [p.evaluate(ROLE) for p in pages].count("leader") == 1
    assert open_streams(live) == 1

    assert bob.send(conversation_id, "Hello, every tab").status_code == 201
    for page in pages:
        expect(messages_by(page, "bob")).to_have_count(1)

    # A thirteenth tab: the sign-in page loads (the origin is not out of connections), and
    # the app works there too. (Signing in again would start a new session and, by design,
    # end the old one everywhere.)
    extra = pages[0].context.new_page()
    extra.goto("/login")
    expect(extra.locator("form[action='/login']")).to_be_visible()
    extra.goto(f"/c/{conversation_id}")
    stream_connected(extra)
    send_from(extra, "from the thirteenth tab")
    for page in [*pages, extra]:
        expect(messages_by(page, "alice")).to_have_count(1)
    assert open_streams(live) == 1


def test_when_the_leading_tab_closes_mid_burst_every_other_tab_gets_each_message_once(
        live: Any, page_for: Any) -> None:
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = bob.start_direct("alice")
    pages = open_tabs(page_for(alice), 4, f"/c/{conversation_id}")
    leader = next(p for p in pages if p.evaluate(ROLE) == "leader")
    others = [p for p in pages if p is not leader]

    sent: list[int] = []

    def burst() -> None:
        for n in range(50):
            r = bob.send(conversation_id, f"burst {n}")
            assert r.status_code == 201, r.text
            sent.append(n)
            time.sleep(0.02)

    poster = threading.Thread(target=burst)
    poster.start()
    deadline = time.monotonic() + 10
    while len(sent) < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    leader.close()  # mid-burst: another tab takes the stream over
    poster.join(30)
    assert len(sent) == 50

    for page in others:
        expect(page.locator("#messages [data-message-id]")).to_have_count(
            50, timeout=CONNECT_TIMEOUT_MS)
    for page in others:
        ids = message_ids(page)
        assert ids == sorted(set(ids)) and len(ids) == 50, ids
        expect(page.locator("#messages [data-message-id] .message-body")).to_have_text(
            [f"burst {n}" for n in range(50)])
        applied = [e["messageId"] for e in page.evaluate("__kehaiSse.events")
                   if e["kind"] == "new-message"]
        assert len(applied) == len(set(applied)), f"a message was applied twice: {applied}"
    assert [p.evaluate(ROLE) for p in others].count("leader") == 1
    assert open_streams(live) == 1
