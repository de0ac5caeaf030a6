"""On a slow link the typing indicator never outlives the message it belongs to."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import COMPOSER, messages_by, stream_connected
from tests.browser.slow_proxy import SlowProxy

DELAY_S = 1.2  # each way
TRIES = 10

# Installed on the reader's page: every text #typing takes and every message that arrives,
# in the order the page saw them.
WATCH = """() => {
  const log = window.__kehaiLog = [];
  const typing = document.querySelector("#typing");
  new MutationObserver(() => log.push({ at: Date.now(), kind: "typing", text: typing.textContent.trim() }))
    .observe(typing, { subtree: true, childList: true, characterData: true });
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      if (n instanceof Element && n.matches("[data-message-id]")) {
        log.push({ at: Date.now(), kind: "message", author: n.dataset.author,
                   body: n.querySelector(".message-body").textContent });
      }
    }
  }).observe(document.querySelector("#messages"), { childList: true });
}"""


@pytest.fixture
def slow(live: Any) -> Iterator[SlowProxy]:
    proxy = SlowProxy(live.server.port, DELAY_S)
    yield proxy
    proxy.close()


def test_no_typing_indicator_after_its_message_on_a_slow_link(
        live: Any, page_for: Any, slow: SlowProxy) -> None:
    alice, carol = live.person("alice"), live.person("carol")
    bob = live.person("bob")
    conversation_id = bob.start_group("Slow link", ["alice", "carol"])
    reader = page_for(bob)
    reader.goto(f"/c/{conversation_id}")
    stream_connected(reader)
    # Two typists, in turn, so one's next message can start while the other's is checked.
    typists = [(person, page_for(person)) for person in (alice, carol)]
    for _, page in typists:  # signed in directly; the cookie also serves the slow origin
        page.evaluate("(url) => location.assign(url)", f"{slow.url}/c/{conversation_id}")
    for _, page in typists:  # both load at once: every round trip takes 2.4 s
        page.wait_for_url(f"{slow.url}/c/{conversation_id}", timeout=30_000)
        stream_connected(page, timeout_ms=30_000)
    reader.evaluate(WATCH)

    started: dict[str, list[float]] = {"alice": [], "carol": []}
    for k in range(TRIES):
        person, page = typists[k % 2]
        box = page.locator(COMPOSER)
        box.click()
        started[person.username].append(time.time() * 1000)
        # Different lengths: Enter falls at a different point of the 2 s typing throttle.
        box.press_sequentially(f"try {k}:" + " word" * (3 * k % 5), delay=50)
        box.press("Enter")
        arrived = messages_by(reader, person.username).filter(has_text=f"try {k}:")
        expect(arrived).to_have_count(1, timeout=15_000)
    reader.wait_for_timeout(2_000 + DELAY_S * 1000)  # a late typing report would show by now

    log = reader.evaluate("window.__kehaiLog")
    shown_before = 0
    for k in range(TRIES):
        person = typists[k % 2][0]
        name = person.display_name
        at = next(i for i, e in enumerate(log)
                  if e["kind"] == "message" and e["body"].startswith(f"try {k}:"))
        before = [e for e in log[:at] if e["kind"] == "typing"]
        shown_before += any(name in e["text"] for e in before)
        # The typist's next message may rightly show them typing again, but not before its
        # first keystroke has crossed the slow link.
        later = [s for s in started[person.username] if s > log[at]["at"]]
        until = later[0] + DELAY_S * 1000 if later else float("inf")
        current = before[-1]["text"] if before else ""
        after = [e for e in log[at + 1:] if e["kind"] == "typing" and e["at"] < until]
        stale = [e["text"] for e in after if name in e["text"]]
        assert name not in current and not stale, \
            f"try {k}: {name} still shown typing after the message: {current!r} {stale}"
    assert shown_before >= TRIES // 2, f"the indicator showed in only {shown_before} tries"
