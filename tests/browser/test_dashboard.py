"""The operators' dashboard in a real Chromium: a filtered list that follows people live."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.helpers import stream_connected
from tests.browser.test_presence import GRACE_S, create_operator

WAIT_MS = 20_000  # a loaded machine: the stream, the batch and the re-fetch


def test_the_online_filter_shows_someone_who_signs_in_and_drops_them_when_they_leave(
        live: Any, page_for: Any) -> None:
    alice = live.person("alice", display_name="Alice Sato")
    live.person("ben", display_name="Ben Okafor")
    olga = create_operator(live, "olga", "Olga Op")
    conversation_id = alice.start_direct("ben")

    page_o = page_for(olga)
    page_o.goto("/dashboard?status=online")
    stream_connected(page_o)
    rows = page_o.locator("#dashboard-rows tr[data-user]")
    expect(rows).to_have_count(1, timeout=WAIT_MS)  # only the operator herself
    expect(page_o.locator("tr[data-user=alice]")).to_have_count(0)
    page_o.evaluate("window.__kehaiMarker = 'same document'")
    other = page_for(olga)  # the same operator on a page without the table
    other.goto("/")
    stream_connected(other)

    page_a = page_for(alice)
    stream_connected(page_a)
    row_a = page_o.locator("tr[data-user=alice]")
    expect(row_a).to_have_count(1, timeout=WAIT_MS)
    expect(row_a).to_have_attribute("data-status", "online")
    expect(row_a.locator(".since time")).to_have_count(1)
    expect(page_o.locator(".pager")).to_contain_text("2 people")

    # The unread column is live too: Ben gets a message while the dashboard looks on.
    page_o.goto("/dashboard")
    stream_connected(page_o)
    unread_b = page_o.locator("tr[data-user=ben] [data-col=unread]")
    expect(unread_b).to_have_text("0")
    assert alice.send(conversation_id, "Morning!").status_code == 201
    expect(unread_b).to_have_text("1", timeout=WAIT_MS)
    expect(page_o.locator("#dashboard-charts svg")).to_have_count(4)

    page_o.goto("/dashboard?status=online")
    stream_connected(page_o)
    page_o.evaluate("window.__kehaiMarker = 'same document'")
    expect(row_a).to_have_count(1)
    page_a.context.close()
    expect(row_a).to_have_count(0, timeout=int(GRACE_S * 1000) + WAIT_MS)
    expect(rows).to_have_count(1)
    assert page_o.evaluate("window.__kehaiMarker") == "same document", "the dashboard reloaded"
