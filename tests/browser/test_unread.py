"""Unread you can't miss, in a real Chromium, in Japanese and English (issue 15, item 5): the
count in the tab title and favicon, the list's badges and their labels, the back button on a
phone, the "new messages" line and the jump to it, "↓ N new", "load older" keeping the
reader's place, and opt-in notifications shown once per browser."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live
from tests.browser.helpers import ROLE, TIMEOUT_MS, stream_connected, streamed_message
from tests.browser.test_a11y import AXE, RUN_AXE
from tests.support import ROOT

SCREENSHOTS = ROOT / "static" / "screenshots"
JA = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}
EN = {"locale": "en-US", "timezone_id": "Europe/London"}
PHONE = {"width": 390, "height": 800}
MESSAGES = "#messages"

# Records every notification the page shows instead of showing it (injected before the
# page's scripts); the permission stays the browser's own.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (!Real) return;
  const shown = window.__notes = [];
  function Recorded(title, options = {}) {
    this.title = title; this.body = options.body || ""; this.tag = options.tag || "";
    this.closed = false;
    this.close = () => { this.closed = true; };
    shown.push(this);
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
})();
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for the module (each test has its own people); histories of 60+ messages
    are sent quickly, past the usual per-user rate."""
    server = Live(Path(tmp_path_factory.mktemp("unread")) / "srv",
                  tuning={"message_limit": [1000, 10]})
    yield server
    server.close()


def with_axe(page: Any) -> Any:
    """axe-core in every page this page's browser loads from now on (test_a11y.py)."""
    page.context.add_init_script(path=str(AXE))
    return page


def no_serious_violations(page: Any) -> None:
    assert page.evaluate(RUN_AXE) == []


def open_chat(page: Any, conversation_id: int) -> None:
    page.goto(f"/c/{conversation_id}")
    stream_connected(page)


def read_up_to(person: Any, conversation_id: int, message_id: int) -> None:
    assert person.post(f"/c/{conversation_id}/read", {"up_to": str(message_id)}).status_code < 300


def send_many(person: Any, conversation_id: int, n: int, text: str = "message") -> list[int]:
    ids = []
    for i in range(n):
        r = person.send(conversation_id, f"{text} {i + 1}")
        assert r.status_code == 201, r.text
        ids.append(int(re.search(r'data-message-id="(\d+)"', r.text).group(1)))
    return ids


def own_read_arrived(page: Any, conversation_id: int) -> None:
    """The reader's own tabs heard that the conversation was read (their badge cleared)."""
    page.wait_for_function(
        "(c) => document.querySelector(`[data-unread-of=\"${c}\"]`)?.hidden"
        " && window.__kehaiSse.events.some((e) => e.kind === 'message-read')",
        arg=str(conversation_id))


def icon_text(page: Any) -> str:
    return unquote(page.locator("#favicon").get_attribute("href") or "")


def top_in(page: Any, selector: str) -> float:
    """Where an element sits on screen (px from the top of the viewport)."""
    box = page.locator(selector).bounding_box()
    assert box, f"{selector} is not on screen"
    return float(box["y"])


def in_view(page: Any, selector: str) -> bool:
    return bool(page.evaluate("""(sel) => {
      const el = document.querySelector(sel), box = document.querySelector('#messages');
      if (!el) return false;
      const a = el.getBoundingClientRect(), b = box.getBoundingClientRect();
      return a.bottom > b.top && a.top < b.bottom;
    }""", selector))


def test_the_title_favicon_badges_and_the_phone_back_button_count_unread_live_in_japanese(
        live: Live, page_for: Any) -> None:
    aki = live.person("aki", display_name="青木 明", lang="ja")
    live.person("ben", display_name="Ben")
    chie = live.person("chie", display_name="千田 千恵", lang="ja")
    with_ben = aki.start_direct("ben")
    with_chie = chie.start_direct("aki")

    phone = with_axe(page_for(aki, viewport=PHONE, **JA))
    open_chat(phone, with_ben)
    expect(phone).to_have_title("Ben · Kehai")
    plain_icon = icon_text(phone)
    back = phone.locator("a.back")
    expect(back.locator("[data-unread-elsewhere]")).to_be_hidden()

    chie.send(with_chie, "お疲れさまです")
    chie.send(with_chie, "明日の件、確認できますか？")
    expect(phone).to_have_title("(2) Ben · Kehai")
    assert ">2</text>" in icon_text(phone) and "<circle" in icon_text(phone)
    badge = phone.locator(f"[data-unread-of='{with_chie}']")
    expect(badge).to_have_text("2")
    expect(badge).to_have_attribute("aria-label", "未読 2 件")
    # The list is hidden on a phone: the back button says there is something elsewhere.
    expect(back.locator("[data-unread-elsewhere]")).to_be_visible()
    expect(back.locator("[data-unread-elsewhere]")).to_have_text("2")
    expect(back).to_have_accessible_name("すべての会話（未読 2 件）")
    no_serious_violations(phone)

    # Read in another tab of the same browser: every count clears, here too.
    desk = phone.context.new_page()
    desk.set_viewport_size({"width": 1280, "height": 800})
    open_chat(desk, with_chie)
    expect(desk).to_have_title("千田 千恵 · Kehai")
    expect(phone).to_have_title("Ben · Kehai")
    assert icon_text(phone) == plain_icon
    expect(badge).to_be_hidden()
    expect(badge).to_have_attribute("aria-label", "未読 0 件")
    expect(back.locator("[data-unread-elsewhere]")).to_be_hidden()
    expect(back).to_have_accessible_name("すべての会話")

    # Correct on load, not only live: a fresh page counts what is unread now.
    chie.send(with_chie, "もう一件")
    expect(phone).to_have_title("(1) Ben · Kehai")
    desk.goto("/")
    expect(desk).to_have_title("(1) 会話 · Kehai")


@pytest.mark.parametrize(("lang", "context", "line"), [
    ("ja", JA, "ここから未読"), ("en", EN, "New messages")])
def test_the_new_messages_line_marks_the_first_unread_and_is_gone_once_read(
        live: Live, page_for: Any, lang: str, context: dict, line: str) -> None:
    reader = live.person(f"dana{lang}", display_name="Dana", lang=lang)
    writer = live.person(f"eiji{lang}", display_name="Eiji", lang=lang)
    room = writer.start_direct(reader.username)
    old = send_many(writer, room, 3, "before")
    read_up_to(reader, room, old[-1])
    assert reader.send(room, "ok").status_code == 201  # one's own message is never "new"
    new = send_many(writer, room, 4, "after")

    page = with_axe(page_for(reader, **context))
    open_chat(page, room)
    divider = page.locator(f"{MESSAGES} .unread-divider")
    expect(divider).to_have_count(1)
    expect(divider).to_have_text(line)
    following = f"{MESSAGES} .unread-divider + #message-{new[0]}"
    expect(page.locator(following)).to_have_count(1)
    expect(page.locator("[data-unread-jump]")).to_be_hidden()  # few: the line is on screen
    assert in_view(page, f"#message-{new[-1]}"), "few unread: the view opens at the bottom"
    no_serious_violations(page)
    own_read_arrived(page, room)
    if lang == "ja":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "unread-divider.png"))

    # A resync re-fetches the history: the line stays where the reader left off.
    with page.expect_response(re.compile(rf"/c/{room}/messages")):
        page.evaluate("document.body.dispatchEvent(new CustomEvent('kehai:resync', "
                      "{ bubbles: true }))")
    expect(page.locator(following)).to_have_count(1)

    page.reload()
    stream_connected(page)
    expect(page.locator(f"#message-{new[-1]}")).to_be_visible()
    expect(divider).to_have_count(0)


def test_more_unread_than_fit_on_screen_open_at_the_line_not_at_the_bottom(
        live: Live, page_for: Any) -> None:
    reader = live.person("kai", display_name="Kai")
    writer = live.person("lea", display_name="Lea")
    room = writer.start_direct("kai")
    read_up_to(reader, room, send_many(writer, room, 5, "read")[-1])
    unread = send_many(writer, room, 30, "unread")  # one page, taller than the screen

    page = page_for(reader, **EN)
    open_chat(page, room)
    expect(page.locator(f"{MESSAGES} .unread-divider + #message-{unread[0]}")).to_have_count(1)
    assert in_view(page, ".unread-divider"), "opened elsewhere than the first unread"
    assert not in_view(page, f"#message-{unread[-1]}"), "opened at the bottom"
    expect(page.locator("[data-unread-jump]")).to_be_hidden()


def test_many_unread_open_at_the_oldest_and_the_jump_brings_the_line(
        live: Live, page_for: Any) -> None:
    reader = live.person("fumi", display_name="Fumi")
    writer = live.person("gus", display_name="Gus")
    room = writer.start_direct("fumi")
    read_up_to(reader, room, send_many(writer, room, 5, "read")[-1])
    unread = send_many(writer, room, 60, "unread")  # more than a page (50)

    page = with_axe(page_for(reader, **EN))
    open_chat(page, room)
    jump = page.locator("[data-unread-jump]")
    expect(jump).to_be_visible()
    expect(jump).to_have_text("60 new messages ↑")
    no_serious_violations(page)
    expect(page.locator(f"{MESSAGES} .unread-divider")).to_have_count(0)  # pages back
    jump.click()
    expect(page.locator(f"{MESSAGES} .unread-divider + #message-{unread[0]}")).to_have_count(1)
    page.wait_for_function("() => { const l = document.querySelector('.unread-divider');"
                           " const b = document.querySelector('#messages').getBoundingClientRect();"
                           " const r = l.getBoundingClientRect(); return r.top >= b.top - 1 && r.bottom <= b.bottom; }")
    expect(jump).to_be_hidden()


def test_load_older_keeps_the_place_and_new_messages_below_show_a_pill_in_japanese(
        live: Live, page_for: Any) -> None:
    reader = live.person("hana", display_name="花子", lang="ja")
    writer = live.person("isao", display_name="勲", lang="ja")
    room = writer.start_direct("hana")
    ids = send_many(writer, room, 70, "履歴")
    read_up_to(reader, room, ids[-1])

    page = with_axe(page_for(reader, **JA))
    open_chat(page, room)
    top_message = f"#message-{ids[20]}"  # the oldest of the newest page of 50
    page.evaluate("document.querySelector('#messages').scrollTop = 0")
    page.wait_for_function("() => document.querySelector('#messages').scrollTop === 0")
    before = top_in(page, top_message)
    page.locator(f"{MESSAGES} .load-older").click()
    expect(page.locator(f"#message-{ids[0]}")).to_have_count(1)
    after = top_in(page, top_message)
    assert abs(after - before) <= 3, f"the top message moved from y={before} to y={after}"
    assert not in_view(page, f"#message-{ids[0]}"), "jumped to the oldest message"

    # Scrolled up when two messages arrive: a pill says so; a click goes to the bottom.
    pill = page.locator("[data-new-below]")
    expect(pill).to_be_hidden()
    sent = send_many(writer, room, 2, "新着")
    streamed_message(page, str(sent[-1]))
    expect(pill).to_be_visible()
    expect(pill).to_have_text("↓ 新着 2 件")
    # unread until scrolled to: the tab's title counts them too, and stops once they are read
    expect(page).to_have_title("(2) 勲 · Kehai")
    no_serious_violations(page)
    pill.click()
    expect(pill).to_be_hidden()
    expect(page).to_have_title("勲 · Kehai")
    page.wait_for_function(
        "(id) => { const b = document.querySelector('#messages'), m = document.getElementById(id);"
        " return b.scrollHeight - b.scrollTop - b.clientHeight < 2"
        " && m.getBoundingClientRect().bottom <= b.getBoundingClientRect().bottom + 1; }",
        arg=f"message-{sent[-1]}")


def test_notifications_once_per_browser_for_other_conversations_never_for_ones_own(
        live: Live, page_for: Any) -> None:
    pam = live.person("pam", display_name="Pam")
    quinn = live.person("quinn", display_name="Quinn")
    rob = live.person("rob", display_name="Rob")
    with_quinn = pam.start_direct("quinn")
    with_rob = rob.start_direct("pam")

    # The first tab reads the stream (js/live.js) and so is the one that notifies; the
    # conversation with Quinn is on screen in the other one.
    index = page_for(pam, permissions=["notifications"], **EN)
    index.context.add_init_script(RECORD_NOTIFICATIONS)
    index.goto("/")
    stream_connected(index)
    chat = index.context.new_page()
    open_chat(chat, with_quinn)
    assert index.evaluate(ROLE) == "leader"
    tabs = (chat, index)
    toggle = index.locator("[data-notify-toggle]")
    expect(toggle).to_have_text("Turn on notifications")
    toggle.click()
    expect(toggle).to_have_text("Turn off notifications")

    def shown() -> list[dict]:
        return [n for tab in tabs for n in tab.evaluate(
            "(window.__notes || []).map((n) => ({ title: n.title, body: n.body }))")]

    rob.send(with_rob, "Lunch at noon?")
    _wait_total(tabs, 1)
    assert shown() == [{"title": "Rob", "body": "Lunch at noon?"}]

    pam.send(with_quinn, "Sure")  # one's own: nothing
    quinn.send(with_quinn, "I see you")  # on screen in a visible tab: nothing
    rob.send(with_rob, "See you there")  # the last one, to know the others are through
    _wait_total(tabs, 2)
    # The conversation's one notification, replaced (same tag) by one that stacks its lines
    assert shown()[1] == {"title": "Rob", "body": "Lunch at noon?\nSee you there"}
    assert index.evaluate("window.__notes[0].tag === window.__notes[1].tag")
    newest = send_many(rob, with_rob, 3, "line")[-1]
    _wait_total(tabs, 5)
    assert shown()[-1] == {"title": "Rob", "body": "1 earlier\nSee you there\nline 1\nline 2\nline 3"}

    # Read elsewhere (another device): the notification closes, the next one starts afresh.
    read_up_to(pam, with_rob, newest)
    index.wait_for_function("() => window.__notes[window.__notes.length - 1].closed")
    rob.send(with_rob, "Hello again")
    _wait_total(tabs, 6)
    assert shown()[-1] == {"title": "Rob", "body": "Hello again"}

    # A group's notification is titled with the group; each line says who wrote it.
    club = rob.start_group("Lunch club", ["pam"])
    expect(index.locator(f"#conv-{club} .conv-title")).to_have_text("Lunch club")
    rob.send(club, "Pizza?")
    _wait_total(tabs, 7)
    assert shown()[-1] == {"title": "Lunch club", "body": "Rob: Pizza?"}

    # The same conversation in a tab the person has left (hidden): now it notifies.
    chat.evaluate("Object.defineProperty(document, 'visibilityState', { get: () => 'hidden' })")
    quinn.send(with_quinn, "Still there?")
    _wait_total(tabs, 8)
    assert shown()[-1] == {"title": "Quinn", "body": "Still there?"}

    # A click brings that tab forward on the conversation.
    with index.expect_navigation(url=re.compile(rf"/c/{with_quinn}$")):
        index.evaluate("window.__notes[window.__notes.length - 1].onclick()")


def _wait_total(tabs: tuple[Any, ...], n: int) -> None:
    """Wait until the tabs together have shown `n` notifications; more is a failure."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        total = sum(t.evaluate("(window.__notes || []).length") for t in tabs)
        if total >= n or time.monotonic() > deadline:
            assert total == n, f"{total} notifications shown, expected {n}"
            return
        tabs[0].wait_for_timeout(50)  # polling the pages, not waiting for time to pass
