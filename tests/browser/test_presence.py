"""Presence in a real Chromium: dots that follow a person's tabs, and the operators' dashboard."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from typing import Any

from playwright.sync_api import expect

from tests.browser.helpers import stream_connected
from tests.support import FAST, ROOT, Person

GRACE_S = FAST["presence_grace_s"]
SCREENSHOTS = ROOT / "static" / "screenshots"

# Installed on a watching page: records, with the page's clock, every status a person's dots
# and status line take after this point (dots are replaced by the stream, so new nodes count).
WATCH_STATUS = """(user) => {
  const seen = window.__kehaiStatusSeen = [];
  const dots = `[data-presence-of="${user}"]`, lines = `[data-status-text-of="${user}"]`;
  const within = (el, sel) => el instanceof Element
    ? [...(el.matches(sel) ? [el] : []), ...el.querySelectorAll(sel)] : [];
  const note = (what, status) => seen.push({ at: Date.now(), what, status });
  const look = (el) => {
    for (const d of within(el, dots)) note("dot", d.dataset.status);
    for (const t of within(el, lines)) note("text", t.textContent.trim());
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes") look(r.target);
      else if (r.type === "characterData") look(r.target.parentElement);
      else {
        r.addedNodes.forEach(look);
        if (r.target instanceof Element) look(r.target.closest(lines));
      }
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true,
                              attributes: true, attributeFilter: ["data-status"] });
}"""


# Runs in every page of a context: logs each `state` the page sends to /presence, in
# sessionStorage, so a report sent while a page is being left survives into the next page.
LOG_PRESENCE_REPORTS = """
(() => {
  const send = window.fetch;
  window.fetch = function (input, init) {
    const url = String((input && input.url) || input);
    if (url.endsWith("/presence") && init && init.body instanceof FormData) {
      const log = JSON.parse(sessionStorage.getItem("kehai-test-presence") || "[]");
      log.push(init.body.get("state"));
      sessionStorage.setItem("kehai-test-presence", JSON.stringify(log));
    }
    return send.apply(this, arguments);
  };
})();
"""


def all_dots(page: Any, user: str, status: str, timeout_ms: int = 5_000) -> None:
    """Wait until every dot of `user` on the page (at least one) shows `status`."""
    page.wait_for_function(
        """([user, status]) => {
          const d = [...document.querySelectorAll(`[data-presence-of="${user}"]`)];
          return d.length > 0 && d.every((e) => e.dataset.status === status);
        }""", arg=[user, status], timeout=timeout_ms)


def statuses(page: Any, user: str) -> list[str]:
    return page.locator(f"[data-presence-of={user}]").evaluate_all(
        "(els) => els.map((e) => e.dataset.status)")


def test_a_dot_turns_green_stays_green_on_reload_and_grey_after_the_tab_closes(
        live: Any, page_for: Any) -> None:
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = alice.start_direct("bob")
    page_b = page_for(bob)
    page_b.goto(f"/c/{conversation_id}")
    stream_connected(page_b)
    # Before A shows up: A's dots are grey, in the sidebar, the chat header and the member list.
    dots_of_a = page_b.locator("[data-presence-of=alice]")
    expect(page_b.locator(".sidebar [data-presence-of=alice]")).to_have_count(1)
    expect(page_b.locator(".chat-header [data-presence-of=alice]")).to_have_count(2)
    assert statuses(page_b, "alice") == ["offline"] * 3
    status_line = page_b.locator("[data-status-text-of=alice]")
    expect(status_line).to_have_text("Offline")

    page_a = page_for(alice)  # A opens the app (the conversation list, which opens the stream)
    stream_connected(page_a)
    all_dots(page_b, "alice", "online")
    expect(dots_of_a).to_have_count(3)  # replaced in place, never duplicated
    expect(status_line).to_have_text("Online")

    # A reloads, then moves between pages: B must never see A go offline (nor away), not even
    # after the grace is over. Leaving a page hides it, but that is no "away": reporting it
    # would race the next page's stream (the tab keeps its id) and could leave A shown away.
    page_b.evaluate(WATCH_STATUS, "alice")
    page_a.context.add_init_script(LOG_PRESENCE_REPORTS)
    page_a.reload()
    stream_connected(page_a)  # the reloaded page has its own stream again
    for path in (f"/c/{conversation_id}", "/settings", "/"):
        page_a.goto(path)  # as a link would
        stream_connected(page_a)
    page_a.wait_for_timeout(GRACE_S * 1000 + 500)  # longer than the grace: proves a non-event
    seen = page_b.evaluate("window.__kehaiStatusSeen")
    flicker = [s for s in seen if s["status"] != {"dot": "online", "text": "Online"}[s["what"]]]
    assert not flicker, f"B saw A flicker: {seen}"
    reports = page_a.evaluate("JSON.parse(sessionStorage.getItem('kehai-test-presence') || '[]')")
    assert "away" not in reports, f"leaving a page reported the tab away: {reports}"
    assert statuses(page_b, "alice") == ["online"] * 3
    expect(status_line).to_have_text("Online")

    # A closes the tab: B's dots turn grey once the grace is over, not before.
    closed_at = page_b.evaluate("Date.now()")
    page_a.context.close()
    all_dots(page_b, "alice", "offline", timeout_ms=int(GRACE_S * 1000) + 4_000)
    expect(dots_of_a).to_have_count(3)
    expect(status_line).to_have_text("Online just now")  # "Last seen 1 minute ago" after a minute
    expect(status_line.locator("time[data-relative]")).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    offline_at = min(s["at"] for s in page_b.evaluate("window.__kehaiStatusSeen")
                     if s["status"] == "offline")
    assert offline_at - closed_at >= GRACE_S * 1000 * 0.9, \
        f"A went offline {offline_at - closed_at} ms after closing, within the grace"


def create_operator(live: Any, name: str, display_name: str) -> Person:
    """`python run.py create-user NAME --operator`, password on stdin, as an admin would."""
    env = {**os.environ, "KEHAI_INSTANCE_DIR": str(live.instance)}
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "create-user", name,
                           "--display-name", display_name, "--operator"],
                          input=b"operator password 1\n", env=env, capture_output=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return Person(live.url, name, display_name=display_name, password="operator password 1",
                  register=False)


def test_the_dashboard_updates_live_for_an_operator(live: Any, page_for: Any) -> None:
    alice = live.person("alice", display_name="Alice Sato")
    ben = live.person("ben", display_name="Ben Okafor")
    carol = live.person("carol", display_name="Carol Ito")
    live.person("dave", display_name="Dave Moreau")  # never signs in: offline, "never"
    olga = create_operator(live, "olga", "Olga Op")
    conversation_id = alice.start_direct("ben")
    for text in ("Morning!", "Are we still on for ten?", "I'll bring the slides."):
        assert alice.send(conversation_id, text).status_code == 201  # Ben's unread backlog
    carol.start_direct("alice")

    page_o = page_for(olga)
    page_o.goto("/dashboard")
    expect(page_o.locator("h1")).to_have_text("Presence dashboard")
    stream_connected(page_o)
    row_a = page_o.locator("tr[data-user=alice]")
    online_total = page_o.locator("#dashboard-totals [data-total=online]")
    expect(row_a).to_have_attribute("data-status", "offline")
    expect(row_a.locator("[data-col=streams]")).to_have_text("0")
    expect(online_total).to_have_text("1")  # the operator herself
    for user in ("alice", "ben", "carol", "dave", "olga"):
        expect(page_o.locator(f"tr[data-user={user}]")).to_have_count(1)
    page_o.evaluate("window.__kehaiMarker = 'same document'")

    page_a = page_for(alice)  # A opens the app in another browser
    stream_connected(page_a)
    expect(row_a).to_have_attribute("data-status", "online")
    expect(row_a.locator("[data-col=streams]")).to_have_text("1")
    expect(row_a.locator(".status")).to_have_text("Online")
    expect(online_total).to_have_text("2")
    expect(page_o.locator("#dashboard-totals [data-total=streams]")).to_have_text("2")
    expect(row_a).to_have_count(1)

    closed = time.monotonic()
    page_a.context.close()
    expect(row_a).to_have_attribute("data-status", "offline",
                                    timeout=int(GRACE_S * 1000) + 4_000)
    assert time.monotonic() - closed >= GRACE_S * 0.9, "offline before the grace was over"
    expect(row_a.locator("[data-col=streams]")).to_have_text("0")
    expect(online_total).to_have_text("1")
    expect(row_a).to_have_count(1)
    assert page_o.evaluate("window.__kehaiMarker") == "same document", "the dashboard reloaded"

    # A few people in different states for the picture: online, away, offline, never seen.
    page_c = page_for(carol)
    stream_connected(page_c)
    page_b = page_for(ben)
    stream_connected(page_b)
    expect(page_o.locator("tr[data-user=ben]")).to_have_attribute("data-status", "online")
    assert ben.post("/presence", {"state": "away"}).status_code == 204  # every tab of Ben's
    expect(page_o.locator("tr[data-user=ben]")).to_have_attribute("data-status", "away")
    expect(page_o.locator("tr[data-user=ben] .status")).to_have_text("Away")
    expect(page_o.locator("tr[data-user=carol]")).to_have_attribute("data-status", "online")
    expect(page_o.locator("tr[data-user=dave]")).to_have_attribute("data-status", "offline")
    expect(page_o.locator("tr[data-user=ben] [data-col=unread]")).to_have_text("3")
    expect(online_total).to_have_text("2")  # olga and carol; ben is away, not counted online
    # Every cell stays a table cell: a flex <td> paints its own border, off the row's line.
    displays = page_o.locator("#dashboard-rows td").evaluate_all(
        "(cells) => [...new Set(cells.map((c) => getComputedStyle(c).display))]")
    assert displays == ["table-cell"], displays
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page_o.set_viewport_size({"width": 1280, "height": 800})
    page_o.screenshot(path=str(SCREENSHOTS / "dashboard.png"))
