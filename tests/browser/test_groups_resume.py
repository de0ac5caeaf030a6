"""Group changes a page missed while its link was down: replayed on reconnect (Last-Event-ID),
or, when the server cannot place the page's position, fetched again on resync."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.helpers import stream_connected

GONE = "You are no longer a member of this group"
# Expected while the link is cut or the server restarts, and for the removed member's
# re-fetches of a room that is no longer theirs.
EXPECTED = (r"Failed to load resource: net::ERR_\w+",
            r"Failed to load resource: the server responded with a status of (404|50[23])")


def opened(page: Any, path: str) -> Any:
    page.goto(path)
    stream_connected(page)
    return page


def test_a_page_that_missed_a_rename_and_a_removal_shows_both_after_replay_or_resync(
        live: Any, page_for: Any, proxy: Any, problems: Any) -> None:
    for expected in EXPECTED:
        problems.allow(expected)
    aki = live.person("aki", display_name="田中 亜希", lang="ja")
    ben, cara = live.person("ben", display_name="Ben"), live.person("cara", display_name="Cara")
    dan = live.person("dan", display_name="Dan")
    cid = aki.start_group("Choir", ["ben", "cara", "dan"])
    ben_page = opened(page_for(ben, base_url=proxy.url), f"/c/{cid}")
    cara_page = opened(page_for(cara, base_url=proxy.url), f"/c/{cid}")
    dan_page = opened(page_for(dan, base_url=proxy.url), f"/c/{cid}")

    # Replay: the same server, the pages resume from their last event.
    proxy.cut()
    assert aki.post(f"/c/{cid}/title", {"title": "Choir 2026"}, htmx=False).status_code == 303
    assert aki.post(f"/c/{cid}/members/remove", {"username": "cara"},
                    htmx=False).status_code == 303
    proxy.restore()
    expect(ben_page.locator(".chat-header h1")).to_have_text("Choir 2026", timeout=20_000)
    expect(ben_page.locator(".chat-header .member-list")).not_to_contain_text("Cara")
    expect(cara_page.locator("[role=alert] h1")).to_have_text(GONE, timeout=20_000)
    expect(cara_page.locator(f"#conv-{cid}")).to_have_count(0)

    # Resync: a restarted in-process hub cannot place the pages' positions.
    proxy.cut()
    live.restart()
    assert aki.post(f"/c/{cid}/title", {"title": "Choir 2027"}, htmx=False).status_code == 303
    assert aki.post(f"/c/{cid}/members/remove", {"username": "ben"},
                    htmx=False).status_code == 303
    proxy.restore()
    expect(dan_page.locator(".chat-header h1")).to_have_text("Choir 2027", timeout=20_000)
    expect(dan_page.locator(f"#conv-{cid} .conv-title")).to_have_text("Choir 2027")
    expect(dan_page.locator(".chat-header .member-list")).not_to_contain_text("Ben")
    expect(ben_page.locator("[role=alert] h1")).to_have_text(GONE, timeout=20_000)
    expect(ben_page.locator(f"#conv-{cid}")).to_have_count(0)
