"""A browser's tabs as one session: signing out, bad fragments, drafts."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import expect

from tests.browser.helpers import (
    COMPOSER,
    ROLE,
    messages_by,
    open_streams,
    open_tabs,
    stream_connected,
)

# Wraps fetch in the page: the first chunk of every /sse response is followed by eight frames
# that each hold one fragment with an invalid selector and one good fragment. Eight is more
# than the six connections a browser opens per host: a client that reconnected and leaked a
# connection per error would leave the origin hanging.
BAD_FRAMES = """
(() => {
  const real = window.fetch;
  const frame = (n) => [
    `data: <div data-event="test">`,
    `data: <hx-partial hx-target="[data-presence-of=0day]" hx-swap="outerHTML"><i></i></hx-partial>`,
    `data: <hx-partial hx-target="#messages" hx-swap="beforeend"><p class="injected" data-n="${n}"></p></hx-partial>`,
    `data: </div>`, "", ""].join("\\n");
  window.fetch = async function (input, init) {
    const res = await real.apply(this, arguments);
    if (!String(input).startsWith("/sse") || !res.body) return res;
    const reader = res.body.getReader(), bytes = new TextEncoder();
    let injected = false;
    const body = new ReadableStream({
      async pull(out) {
        const { done, value } = await reader.read();
        if (done) { out.close(); return; }
        out.enqueue(value);
        if (!injected) { injected = true; for (let n = 0; n < 8; n++) out.enqueue(bytes.encode(frame(n))); }
      },
      cancel(reason) { return reader.cancel(reason); },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
})();
"""


def test_signing_out_in_one_tab_shows_the_sign_in_page_in_every_tab_within_two_seconds(
        live: Any, page_for: Any) -> None:
    alice = live.person("alice")
    pages = open_tabs(page_for(alice), 3, "/")
    leader = next(p for p in pages if p.evaluate(ROLE) == "leader")
    follower, other = [p for p in pages if p is not leader]

    began = time.monotonic()
    follower.locator(".logout button").click()  # a tab that does not hold the stream
    for page in (leader, other):
        expect(page).to_have_url(re.compile(r"/login$"), timeout=10_000)
    took = time.monotonic() - began
    for page in pages:
        expect(page.locator("form[action='/login']")).to_be_visible()
    print(f"every tab on the sign-in page {took:.2f} s after Sign out")
    assert took < 2.5, f"the other tabs took {took:.2f} s"
    expect(follower).to_have_url(re.compile(r"/login$"))
    for page in pages:
        expect(page.locator("body")).to_have_attribute("data-me", "")


def test_a_bad_fragment_costs_only_itself_never_the_stream(
        live: Any, page_for: Any) -> None:
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = bob.start_direct("alice")
    page = page_for(alice)
    page.context.add_init_script(BAD_FRAMES)
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(f"/c/{conversation_id}")
    stream_connected(page)

    injected = page.locator("#messages .injected")
    expect(injected).to_have_count(8)  # the good half of every bad frame applied
    refused = [w for w in warnings if "could not be applied" in w]
    assert len(refused) == 8 and "0day" in refused[0], warnings  # and each bad half failed
    assert page.evaluate("__kehaiSse.attempts") == 1, "the stream was dropped and reopened"
    assert bob.send(conversation_id, "still live").status_code == 201
    expect(messages_by(page, "bob")).to_have_count(1)
    assert page.evaluate("__kehaiSse.attempts") == 1
    assert open_streams(live) == 1  # nothing leaked on the server either
    # No connection was left behind: more tabs of the browser still load.
    for _ in range(6):
        extra = page.context.new_page()
        extra.goto(f"/c/{conversation_id}")
        expect(messages_by(extra, "bob")).to_have_count(1)


def test_a_draft_survives_switching_conversations_and_reloading_and_goes_once_sent(
        live: Any, page_for: Any, problems: Any) -> None:
    # Typing reports are throttled by the server too (1 a second): one answered 429 while
    # typing quickly across two rooms is expected and harmless.
    problems.allow(r"status of 429 .*/typing")
    alice = live.person("alice")
    live.person("bob"), live.person("carol")
    with_bob = alice.start_direct("bob")
    with_carol = alice.start_direct("carol")
    page = page_for(alice)
    page.goto(f"/c/{with_bob}")
    stream_connected(page)
    box = page.locator(COMPOSER)
    box.click()
    box.press_sequentially("half a thought for Bob")

    page.locator(f"#conv-{with_carol} a").click()  # to the other conversation, as a person would
    expect(page).to_have_url(re.compile(rf"/c/{with_carol}$"))
    expect(box).to_have_value("")
    box.click()
    box.press_sequentially("and one for Carol")
    page.locator(f"#conv-{with_bob} a").click()
    expect(page).to_have_url(re.compile(rf"/c/{with_bob}$"))
    expect(box).to_have_value("half a thought for Bob")
    page.reload()
    expect(box).to_have_value("half a thought for Bob")

    box.press("End")
    box.press_sequentially(", finished")
    box.press("Enter")
    expect(messages_by(page, "alice")).to_have_count(1)
    page.reload()
    expect(box).to_have_value("")  # sent: the draft is gone
    page.goto(f"/c/{with_carol}")
    expect(box).to_have_value("and one for Carol")
