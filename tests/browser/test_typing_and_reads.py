"""Typing indicators and read receipts in a real Chromium, in Japanese where it matters."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs

from playwright.sync_api import expect

from tests.browser.helpers import COMPOSER, messages_by, send_from, stream_connected
from tests.support import FAST, ROOT

SCREENSHOTS = ROOT / "static" / "screenshots"
JA = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}  # Chromium then sends Accept-Language: ja
READ_URL = re.compile(r"/c/\d+/read$")
THROTTLE_S = 2.0  # the composer's hx-trigger="input changed throttle:2s"

# Installed on a watching page: records every text an element takes from now on.
WATCH_TEXT = """(selector) => {
  const el = document.querySelector(selector);
  const seen = window.__kehaiTextSeen = [];
  new MutationObserver(() => seen.push({ at: Date.now(), text: el.textContent.trim() }))
    .observe(el, { subtree: true, childList: true, characterData: true });
}"""


def open_chat(page: Any, conversation_id: int) -> None:
    page.goto(f"/c/{conversation_id}")
    stream_connected(page)


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / name))


def within(began: float, limit_s: float) -> int:
    """What is left of `limit_s` since `began`, in ms, for an expect() timeout."""
    return max(1, int((limit_s - (time.monotonic() - began)) * 1000))


def test_b_sees_a_typing_in_japanese_within_a_second_and_it_clears_on_send(
        live: Any, page_for: Any) -> None:
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    kenji = live.person("kenji", display_name="佐藤 健二", lang="ja")
    conversation_id = haru.start_direct("kenji")
    assert kenji.send(conversation_id, "明日の会議の資料、もうできていますか？").status_code == 201
    assert haru.send(conversation_id, "ほぼ終わりました！").status_code == 201

    page_a = page_for(haru, **JA)
    open_chat(page_a, conversation_id)
    page_b = page_for(kenji, **JA)
    open_chat(page_b, conversation_id)
    typing = page_b.locator("#typing")
    in_list = page_b.locator(f"[data-typing-list-of='{conversation_id}']")
    expect(typing).to_have_text("")
    expect(in_list).to_have_text("")

    box = page_a.locator(COMPOSER)
    box.click()
    began = time.monotonic()
    page_a.keyboard.type("今")  # the first keystroke: a real input event
    expect(typing).to_contain_text("山田 春子さんが入力中", timeout=within(began, 1.0))
    took = time.monotonic() - began
    assert took < 1.0, f"B saw the typing indicator {took:.2f} s after the first keystroke"
    expect(in_list).to_have_text("入力中…")
    assert page_b.locator("#typing").text_content().count("入力中") == 1

    box.press_sequentially("から送りますね。", delay=40)  # still typing
    expect(typing).to_contain_text("山田 春子さんが入力中")
    screenshot(page_b, "typing-ja.png")

    sent = time.monotonic()
    box.press("Enter")
    expect(typing).to_have_text("", timeout=within(sent, 1.0))
    expect(in_list).to_have_text("", timeout=within(sent, 1.0))
    expect(messages_by(page_b, "haru").last.locator(".message-body")).to_have_text(
        "今から送りますね。")
    # Sending is final: no late (throttled) typing POST brings the indicator back.
    page_b.evaluate(WATCH_TEXT, "#typing")
    page_b.wait_for_timeout(THROTTLE_S * 1000 + 300)  # longer than the throttle: a non-event
    seen = page_b.evaluate("window.__kehaiTextSeen")
    assert not [s for s in seen if s["text"]], f"the indicator came back after sending: {seen}"
    expect(in_list).to_have_text("")


def test_typing_disappears_by_itself_after_a_stops(live: Any, page_for: Any) -> None:
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = alice.start_direct("bob")
    page_a, page_b = page_for(alice), page_for(bob)
    open_chat(page_a, conversation_id)
    open_chat(page_b, conversation_id)

    typing_posts: list[Any] = []
    page_a.on("requestfinished",
              lambda r: typing_posts.append(r) if r.url.endswith("/typing") else None)
    typing = page_b.locator("#typing")
    page_b.evaluate(WATCH_TEXT, "#typing")

    box = page_a.locator(COMPOSER)
    box.click()
    box.press_sequentially("hm, let me", delay=30)  # then A stops typing, and does not send
    expect(typing).to_have_text(re.compile(r"^Alice is typing"))
    # The last throttled POST goes out up to 2 s after the first keystroke; the server then
    # drops the indicator after its expiry (1.5 s in tests) with no refresh.
    expect(typing).to_have_text("", timeout=4_500)
    seen = page_b.evaluate("window.__kehaiTextSeen")
    gone_at = next(s["at"] for s in seen if not s["text"])
    assert typing_posts, "the composer sent no typing POST"
    last_post = max(r.timing["startTime"] for r in typing_posts)  # ms since the epoch
    assert gone_at - last_post < 10_000, (gone_at, last_post)  # both on the epoch clock
    assert gone_at - last_post >= FAST["typing_expiry_s"] * 1000 * 0.9, \
        f"cleared {gone_at - last_post:.0f} ms after the last typing POST, before the expiry"
    expect(page_b.locator(f"[data-typing-list-of='{conversation_id}']")).to_have_text("")
    expect(box).to_have_value("hm, let me")  # nothing was sent
    assert messages_by(page_b, "alice").count() == 0


def up_to_of(request: Any) -> str:
    found = parse_qs(request.post_data or "").get("up_to")
    assert found and found[0].isdigit(), request.post_data
    return found[0]


def test_b_reading_a_message_shows_kidoku_to_a_within_a_second(
        live: Any, page_for: Any) -> None:
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    kenji = live.person("kenji", display_name="佐藤 健二", lang="ja")
    conversation_id = haru.start_direct("kenji")
    for author, text in ((haru, "おはようございます。"), (kenji, "おはよう！"),
                         (haru, "今日のランチ、どこにしますか？")):
        assert author.send(conversation_id, text).status_code == 201

    page_a = page_for(haru, **JA)
    open_chat(page_a, conversation_id)
    mine = messages_by(page_a, "haru")
    expect(mine.locator(".read-mark")).to_have_text(["", ""])  # B has not opened the chat yet

    # B opens the chat: the visible page reads what is on screen by itself, A sees it live.
    page_b = page_for(kenji)
    with page_b.expect_response(READ_URL) as first_read:
        page_b.goto(f"/c/{conversation_id}")
    assert first_read.value.status == 204
    stream_connected(page_b)
    expect(mine.locator(".read-mark")).to_have_text([re.compile(r"^既読"), re.compile(r"^既読")])

    # A new message: B's page reads it as it arrives; A sees 既読 within a second of that.
    with page_b.expect_request(lambda r: bool(READ_URL.search(r.url))
                               and r.method == "POST") as reading:
        send_from(page_a, "駅前の新しいお店はどうですか？")
    began = time.monotonic()
    newest = mine.last
    expect(newest.locator(".read-mark")).to_have_text(re.compile(r"^既読 \d{1,2}:\d\d$"),
                                                      timeout=within(began, 1.0))
    took = time.monotonic() - began
    assert took < 1.0, f"A saw 既読 {took:.2f} s after B's page read the message"
    assert up_to_of(reading.value) == newest.get_attribute("data-message-id")
    expect(newest.locator(".read-mark")).to_be_visible()
    expect(newest.locator(".read-mark time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    expect(mine.locator(".read-mark")).to_have_text([re.compile(r"^既読")] * 3)
    # A's own page never marks A's messages read, and shows no read marks on B's.
    expect(messages_by(page_a, "kenji").locator(".read-mark")).to_be_hidden()
    screenshot(page_a, "chat-read.png")


def test_in_a_group_a_sees_kidoku_2_once_b_and_c_have_read(live: Any, page_for: Any) -> None:
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    kenji, mika = live.person("kenji", display_name="佐藤 健二"), live.person("mika")
    conversation_id = haru.start_group("週末の予定", ["kenji", "mika"])
    page_a = page_for(haru, **JA)
    open_chat(page_a, conversation_id)
    page_b = page_for(kenji)
    open_chat(page_b, conversation_id)

    with page_b.expect_response(READ_URL) as b_read:
        send_from(page_a, "土曜日は晴れるそうです。")
    assert b_read.value.status == 204
    mark = messages_by(page_a, "haru").locator(".read-mark")
    expect(mark.locator("summary")).to_have_text("既読 1")
    expect(mark).to_have_attribute("data-read-count", "1")

    page_c = page_for(mika)  # C opens the group later and reads it too
    page_c.goto(f"/c/{conversation_id}")
    expect(mark.locator("summary")).to_have_text("既読 2")
    expect(mark).to_have_attribute("data-read-count", "2")
    mark.locator("summary").click()  # who read it
    expect(mark.locator(".readers li")).to_have_count(2)
    assert sorted(mark.locator(".readers .reader-name").all_text_contents()) == ["Mika", "佐藤 健二"]


def test_with_read_receipts_off_a_never_sees_kidoku(live: Any, page_for: Any) -> None:
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = alice.start_direct("bob")

    page_b = page_for(bob)
    page_b.goto("/settings")
    expect(page_b.locator("input[name=show_presence]")).to_be_checked()
    page_b.locator("input[name=send_read_receipts]").uncheck()
    with page_b.expect_navigation():
        page_b.locator("form[action='/settings'] button[type=submit]").click()
    expect(page_b.locator(".saved")).to_be_visible()
    expect(page_b.locator("input[name=send_read_receipts]")).not_to_be_checked()
    expect(page_b.locator("input[name=show_presence]")).to_be_checked()
    page_b.goto("/")
    stream_connected(page_b)

    page_a = page_for(alice, **JA)
    open_chat(page_a, conversation_id)
    send_from(page_a, "読んだら教えてね")
    mine = messages_by(page_a, "alice")
    expect(mine).to_have_count(1)
    badge = page_b.locator(f"[data-unread-of='{conversation_id}']")
    expect(badge).to_have_text("1")  # B has it unread, live, on the conversation list
    expect(badge).to_be_visible()

    with page_b.expect_response(READ_URL) as read:
        page_b.locator(f"#conv-{conversation_id} a").click()
    assert read.value.status == 204, read.value.status
    assert up_to_of(read.value.request) == mine.get_attribute("data-message-id")
    expect(badge).to_be_hidden()  # B's own tabs know B read it

    # A sentinel through A's stream: anything sent to A for that read arrived before it.
    send_from(page_b, "sentinel")
    expect(messages_by(page_a, "bob")).to_have_count(1)
    expect(mine.locator(".read-mark")).to_have_text("")
    expect(mine.locator(".read-mark")).to_have_attribute("data-read-count", "0")
    sentinel = messages_by(page_a, "bob").get_attribute("data-message-id")
    events = page_a.evaluate("__kehaiSse.events")
    before = [e["kind"] for e in events[:next(
        i for i, e in enumerate(events) if e["messageId"] == sentinel)]]
    assert "message-read" not in before, before
    page_a.reload()  # nor does the page as the server renders it
    expect(messages_by(page_a, "alice").locator(".read-mark")).to_have_text("")
    badge_after = page_b.locator(f"[data-unread-of='{conversation_id}']")
    expect(badge_after).to_be_hidden()


def test_a_failed_read_post_is_sent_again(live: Any, page_for: Any, problems: Any) -> None:
    """A read POST that fails (here a 503) does not count: the page tries again on the next
    visibility change, so A still learns B read the message."""
    problems.allow(r"status of 503")
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = alice.start_direct("bob")
    page_a = page_for(alice)
    open_chat(page_a, conversation_id)
    page_b = page_for(bob)
    failures: list[str] = []

    def first_fails(route: Any) -> None:
        if not failures:
            failures.append(route.request.url)
            route.fulfill(status=503, body="try again")
        else:
            route.continue_()

    page_b.route(READ_URL, first_fails)
    open_chat(page_b, conversation_id)
    with page_b.expect_response(READ_URL) as failed:
        send_from(page_a, "hello?")
    assert failed.value.status == 503
    mark = messages_by(page_a, "alice").locator(".read-mark")
    expect(mark).to_have_text("")

    with page_b.expect_response(READ_URL) as retried:
        page_b.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    assert retried.value.status == 204
    assert up_to_of(retried.value.request) == messages_by(page_a, "alice").get_attribute(
        "data-message-id")
    expect(mark).to_have_text(re.compile(r"^Read"))
