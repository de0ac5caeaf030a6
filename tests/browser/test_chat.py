"""Chatting in a real Chromium: sending, live delivery, catching up after a cut, Japanese UI."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.helpers import (
    COMPOSER,
    messages_by,
    send_from,
    stream_connected,
    streamed_message,
)

ROOT = Path(__file__).resolve().parents[2]
GREETING = "こんにちは、ようこそ！ Welcome to Kehai."
# What Chromium and htmx log while a stream is cut on purpose.
# A presence report or read mark sent at the moment of the cut fails the same way.
STREAM_CUT = (r"Failed to load resource: net::ERR_\w+ \(.*/(sse|presence|c/\d+/read)\b",
              r"^\[bob\] console\.error: htmx: htmx:sse:error: (Failed to fetch|network error)")


def test_a_newcomer_registers_starts_a_direct_chat_and_sees_their_message_without_a_reload(
        live: Any, new_page: Any, artifacts: Path) -> None:
    mika = live.person("mika", display_name="Mika Tanaka")
    page = new_page("sora")

    page.goto("/register")
    page.fill("#username", "sora")
    page.fill("#display_name", "Sora Aoki")
    page.fill("#password", "correct horse battery")
    with page.expect_navigation():
        page.click("form[action='/register'] button[type=submit]")
    expect(page).to_have_url(live.url + "/")
    expect(page.locator("body")).to_have_attribute("data-me", "sora")

    page.click("details.new-chat summary")
    page.fill("#with", "mika")
    with page.expect_navigation():
        page.click("form:has(#with) button[type=submit]")
    expect(page).to_have_url(re.compile(r"/c/\d+$"))
    conversation_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("main.chat h1")).to_have_text("Mika Tanaka")
    stream_connected(page)

    page.evaluate("window.__kehaiMarker = 'same document'")
    url_before = page.url
    box = page.locator(COMPOSER)
    send_from(page, "Hello from the browser")

    mine = messages_by(page, "sora")
    expect(mine).to_have_count(1)
    expect(mine.locator(".message-body")).to_have_text("Hello from the browser")
    expect(mine).to_have_attribute("id", re.compile(r"^message-\d+$"))
    expect(mine).to_have_class(re.compile(r"\bmine\b"))
    assert page.url == url_before
    assert page.evaluate("window.__kehaiMarker") == "same document", "the page was reloaded"
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    expect(page.locator("#messages .empty-history")).to_be_hidden()

    # Shift+Enter adds a line; only the Enter after it sends (both lines, as one message).
    box.press_sequentially("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("first line\nsecond line")
    expect(mine).to_have_count(1)
    box.press("Enter")
    expect(mine.last.locator(".message-body")).to_have_text("first line\nsecond line")
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    assert mine.count() == 2, "Shift+Enter sent a message"
    assert page.evaluate("window.__kehaiMarker") == "same document", "the page was reloaded"

    # The other person answers (over HTTP); it arrives live, on the other side of the log.
    assert mika.send(conversation_id, GREETING).status_code == 201
    theirs = messages_by(page, "mika")
    expect(theirs).to_have_count(1)
    expect(theirs).not_to_have_class(re.compile(r"\bmine\b"))
    expect(page.locator("#messages [data-message-id] .message-body")).to_have_text(
        ["Hello from the browser", "first line\nsecond line", GREETING])

    name_fits = "(e) => e.scrollWidth <= e.clientWidth && e.offsetWidth > 0"
    assert page.eval_on_selector(".me-name", name_fits), "the sidebar squeezes the user's name"
    page.screenshot(path=str(artifacts / "chat.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator(COMPOSER)).to_be_visible()
    expect(theirs).to_be_in_viewport()
    page.screenshot(path=str(artifacts / "chat-mobile.png"))


def test_b_sees_as_message_live_within_a_second(live: Any, page_for: Any) -> None:
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = alice.start_direct("bob")
    page_a, page_b = page_for(alice), page_for(bob)
    for page in (page_a, page_b):
        page.goto(f"/c/{conversation_id}")
        stream_connected(page)

    box = page_a.locator(COMPOSER)
    box.click()
    box.press_sequentially("Are you there?")
    began = time.monotonic()
    box.press("Enter")
    left_ms = max(1, 1000 - int((time.monotonic() - began) * 1000))
    on_b = messages_by(page_b, "alice")
    expect(on_b).to_have_count(1, timeout=left_ms)
    seen_after = time.monotonic() - began
    assert seen_after < 1.0, f"B saw the message after {seen_after:.2f} s"
    expect(on_b.locator(".message-body")).to_have_text("Are you there?")

    message_id = on_b.get_attribute("data-message-id")
    assert message_id
    # Both pages have now swapped the stream's copy: each still shows the message exactly once.
    for page in (page_a, page_b):
        streamed_message(page, message_id)
        copies = page.locator(f"#messages [data-message-id='{message_id}']")
        assert copies.count() == 1, f"{copies.count()} copies of the message"
        expect(copies).to_have_attribute("id", f"message-{message_id}")
        assert page.locator("#messages [data-message-id]").count() == 1
    expect(messages_by(page_a, "alice")).to_have_class(re.compile(r"\bmine\b"))
    expect(on_b).not_to_have_class(re.compile(r"\bmine\b"))

    # And the other way round, B's answer reaches A once.
    send_from(page_b, "Yes!")
    expect(messages_by(page_a, "bob")).to_have_count(1, timeout=1000)
    answer_id = messages_by(page_a, "bob").get_attribute("data-message-id")
    assert answer_id
    streamed_message(page_b, answer_id)
    for page in (page_a, page_b):
        expect(page.locator("#messages [data-message-id] .message-body")).to_have_text(
            ["Are you there?", "Yes!"])


def _open_and_seed(live: Any, page_for: Any, **context_options: Any) -> tuple[Any, Any, int]:
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = alice.start_direct("bob")
    page_b = page_for(bob, **context_options)
    page_b.goto(f"/c/{conversation_id}")
    stream_connected(page_b)
    # B's visible page marks the message read by itself; let that POST finish before the cut.
    with page_b.expect_response(re.compile(r"/c/\d+/read$")) as read:
        assert alice.send(conversation_id, "before the cut").status_code == 201
        expect(page_b.locator("#messages [data-message-id]")).to_have_count(1)
    assert read.value.ok, read.value.status
    page_b.evaluate("window.__kehaiMarker = 'same document'")
    return alice, page_b, conversation_id


def _assert_caught_up(page_b: Any) -> None:
    bodies = page_b.locator("#messages [data-message-id] .message-body")
    expect(bodies).to_have_text(["before the cut", "sent while away 1", "sent while away 2"],
                                timeout=15_000)
    ids = [int(i) for i in page_b.locator("#messages [data-message-id]").evaluate_all(
        "(els) => els.map((e) => e.dataset.messageId)")]
    assert ids == sorted(set(ids)), f"duplicated or out of order: {ids}"
    assert page_b.evaluate("window.__kehaiMarker") == "same document", "the page was reloaded"


def test_the_composer_sends_a_plain_form_that_arrives_whole_in_any_script(
        live: Any, page_for: Any) -> None:
    # The lean message handler answers urlencoded forms only (multipart goes to Quart).
    alice, _bob = live.person("alice"), live.person("bob")
    conversation_id = alice.start_direct("bob")
    page = page_for(alice)
    page.goto(f"/c/{conversation_id}")
    stream_connected(page)
    text = "こんにちは & 100% = ok?"
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/messages")) as sent:
        send_from(page, text)
    assert sent.value.headers["content-type"].startswith("application/x-www-form-urlencoded")
    mine = messages_by(page, "alice")
    expect(mine).to_have_count(1)
    expect(mine.locator(".message-body")).to_have_text(text)
    page.reload()
    expect(messages_by(page, "alice").locator(".message-body")).to_have_text(text)


def test_messages_sent_while_b_is_offline_arrive_once_each_in_order(
        live: Any, page_for: Any, problems: Any) -> None:
    """The server restarts: B's page reconnects by itself, gets `resync` and re-fetches."""
    alice, page_b, conversation_id = _open_and_seed(live, page_for)
    for expected in STREAM_CUT:  # reconnect attempts fail while the server is away
        problems.allow(expected)

    live.stop()
    live.start_again()
    alice.refresh_csrf("/")  # the session outlived the restart
    for n in (1, 2):
        assert alice.send(conversation_id, f"sent while away {n}").status_code == 201

    _assert_caught_up(page_b)
    stream_connected(page_b, at_least=2)  # the page reconnected by itself
    # After a restart the old Last-Event-ID cannot be placed: the server said `resync`.
    kinds = page_b.evaluate("__kehaiSse.events.map((e) => e.kind)")
    assert "resync" in kinds[1:], kinds

    # Live delivery works again on the new stream.
    assert alice.send(conversation_id, "after the comeback").status_code == 201
    expect(messages_by(page_b, "alice").last.locator(".message-body")).to_have_text(
        "after the comeback")
    assert messages_by(page_b, "alice").count() == 4


def test_messages_sent_while_b_is_offline_by_network_arrive_once_each_in_order(
        live: Any, page_for: Any, problems: Any, proxy: Any) -> None:
    """The server stays up and only B's network is cut: B resumes by Last-Event-ID (replay)."""
    alice, page_b, conversation_id = _open_and_seed(live, page_for, base_url=proxy.url)
    for expected in STREAM_CUT:
        problems.allow(expected)

    proxy.cut()
    page_b.wait_for_function("() => __kehaiSse.attempts >= 2")  # B noticed, and is reconnecting
    for n in (1, 2):
        assert alice.send(conversation_id, f"sent while away {n}").status_code == 201
    proxy.restore()

    _assert_caught_up(page_b)
    stream_connected(page_b, at_least=2)
    events = page_b.evaluate("__kehaiSse.events")
    assert [e["kind"] for e in events if e["kind"] in ("hello", "resync")] == ["hello", "hello"], \
        events
    streamed = [e["messageId"] for e in events if e["kind"] == "new-message"]
    assert streamed == sorted(set(streamed), key=int) and len(streamed) == 3, events


def _japanese_catalogue() -> dict[str, str]:
    """msgid -> Japanese text from app/translations/ja.po, or {} while it does not exist."""
    path = ROOT / "app" / "translations" / "ja.po"
    if not path.exists():
        return {}
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh, locale="ja")
    return {m.id: m.string for m in catalog if isinstance(m.id, str) and m.id and m.string}


def test_a_japanese_browser_gets_the_page_in_japanese(
        live: Any, page_for: Any, artifacts: Path) -> None:
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    kenji = live.person("kenji", display_name="佐藤 健二", lang="ja")
    conversation_id = haru.start_direct("kenji")
    morning = "おはようございます。今日の会議は十時からです。"
    assert kenji.send(conversation_id, morning).status_code == 201

    # A browser set to Japanese: Chromium sends Accept-Language: ja-JP on pages and on fetches.
    page = page_for(haru, locale="ja-JP", timezone_id="Asia/Tokyo")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.goto(f"/c/{conversation_id}")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    stream_connected(page)
    expect(page.locator("main.chat h1")).to_have_text("佐藤 健二")

    send_from(page, "了解です！よろしくお願いします。")
    mine = messages_by(page, "haru")
    expect(mine.locator(".message-body")).to_have_text("了解です！よろしくお願いします。")
    # Times are shown the Japanese way, in the reader's zone (the page's script localises them):
    # the day once, in a separator (static/js/history.js), and each message its time.
    expect(mine.locator(".message-meta time")).to_have_text(re.compile(r"^\d{1,2}:\d\d$"))
    expect(page.locator("#messages .day-separator").last).to_have_text("今日")

    catalogue = _japanese_catalogue()
    ui = {"Send": "#composer button.send", "Sign out": ".logout button",
          "New conversation": "details.new-chat summary",
          "Enter to send · Shift+Enter for a new line": ".composer-hint"}
    for msgid, selector in ui.items():
        if msgid in catalogue:
            expect(page.locator(selector)).to_have_text(catalogue[msgid])
    page.screenshot(path=str(artifacts / "chat-ja.png"))


def test_a_message_that_arrives_while_a_resync_re_fetches_the_history_stays(
        live: Any, page_for: Any) -> None:
    """A resync's history answer was asked for before a live message arrived: swapped in, it
    used to wipe that message from the page (seen as a lost message after a restart)."""
    alice, page_b, conversation_id = _open_and_seed(live, page_for)
    history = re.compile(rf"/c/{conversation_id}/messages(\?.*)?$")

    def stale_answer(route: Any) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        answer = route.fetch()  # the history as it is now, without the message below
        assert alice.send(conversation_id, "arrived during the re-fetch").status_code == 201
        time.sleep(1.5)  # the stream delivers it while the answer is held back
        route.fulfill(response=answer)

    page_b.route(history, stale_answer)
    with page_b.expect_response(history):
        page_b.evaluate("document.body.dispatchEvent(new CustomEvent('kehai:resync', "
                        "{ bubbles: true }))")
    page_b.unroute(history)
    expect(page_b.locator("#messages [data-message-id] .message-body")).to_have_text(
        ["before the cut", "arrived during the re-fetch"])
    page_b.wait_for_timeout(300)  # nothing takes it away afterwards
    expect(page_b.locator("#messages [data-message-id] .message-body")).to_have_text(
        ["before the cut", "arrived during the re-fetch"])
