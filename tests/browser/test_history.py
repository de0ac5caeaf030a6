"""A readable history and the small things around it, in a real Chromium, in ja and en:
runs of one author grouped, day separators in the reader's own time zone, safe links, no own
avatar, "You:" previews, times without a leading zero, flashes that go away, and a phone's
Enter that breaks the line."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from playwright.sync_api import expect

from tests.browser.helpers import COMPOSER, messages_by, stream_connected
from tests.support import ROOT

SCREENSHOTS = ROOT / "static" / "screenshots"
JA_DAYS = "月火水木金土日"
EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]


def noon_zone() -> tuple[str, timezone]:
    """A time zone where it is now about noon: "today" and "yesterday" then never straddle a
    midnight while the test runs, and the reader's zone differs from the server's UTC."""
    hours = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # -12 … 11
    name = "Etc/GMT" + (f"{-hours:+d}" if hours else "")  # Etc/GMT-9 is UTC+9
    return name, timezone(timedelta(hours=hours))


class History:
    """Messages written straight into the server's database, at the times a test needs."""

    def __init__(self, live: Any, zone: timezone) -> None:
        self.db = sqlite3.connect(live.instance / "kehai.sqlite3")
        self.zone = zone
        self.today = datetime.now(zone).date()

    def at(self, days_ago: int, hh: int, mm: int, ss: int = 0) -> datetime:
        day = self.today - timedelta(days=days_ago)
        local = datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=self.zone)
        return local.astimezone(UTC).replace(tzinfo=None)

    def add(self, conversation_id: int, username: str, body: str, created: datetime) -> None:
        with self.db:
            (author,) = self.db.execute('SELECT id FROM "user" WHERE username = ?',
                                        (username,)).fetchone()
            self.db.execute(
                "INSERT INTO message (conversation_id, author_id, body, created)"
                " VALUES (?, ?, ?, ?)", (conversation_id, author, body, created.isoformat(" ")))

    def close(self) -> None:
        self.db.close()


def separators(page: Any) -> list[str]:
    return page.locator("#messages .day-separator").all_inner_texts()


def continued(page: Any) -> list[bool]:
    """For each message on the page, in order: does it continue its author's run?"""
    return page.eval_on_selector_all(
        "#messages .message[data-message-id]", "ms => ms.map(m => m.classList.contains('continued'))")


def one_line(locator: Any) -> None:
    """The element's text is on one line: its height is about its line height."""
    box = locator.bounding_box()
    line = locator.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"
                            " + parseFloat(getComputedStyle(e).paddingTop)"
                            " + parseFloat(getComputedStyle(e).paddingBottom)"
                            " + parseFloat(getComputedStyle(e).borderTopWidth) * 2")
    assert box["height"] <= line * 1.2, (box, line)


def test_a_japanese_history_is_grouped_by_author_and_day_on_load_live_older_and_resync(
        live: Any, page_for: Any) -> None:
    zone_name, zone = noon_zone()
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    kenji = live.person("kenji", display_name="佐藤 健二", lang="ja")
    conversation_id = haru.start_direct("kenji")
    history = History(live, zone)
    history.add(conversation_id, "kenji", "三日前の話です", history.at(3, 9, 5))
    history.add(conversation_id, "kenji", "昨日の一通目", history.at(1, 9, 5))
    history.add(conversation_id, "kenji", "昨日の二通目", history.at(1, 9, 6))
    history.add(conversation_id, "haru", "了解です", history.at(1, 9, 7))
    for i in range(47):  # one long run of kenji's, 30 s apart
        history.add(conversation_id, "kenji", f"今日の{i + 1}通目", history.at(0, 11, i // 2, 30 * (i % 2)))
    history.add(conversation_id, "kenji", "資料はhttps://example.com/docsです。javascript:alert(1) は押せません",
                history.at(0, 11, 24))
    history.close()

    page = page_for(haru, locale="ja-JP", timezone_id=zone_name)
    page.clock.install()  # time runs as usual; the test moves it on at the end
    page.goto(f"/c/{conversation_id}")
    stream_connected(page)
    # the first page: the newest 50, from yesterday's second message on
    expect(page.locator("#messages .day-separator")).to_have_text(["昨日", "今日"])
    assert continued(page) == [False, False, False] + [True] * 47
    expect(messages_by(page, "haru").locator(".avatar")).to_be_hidden()  # no own avatar
    expect(messages_by(page, "kenji").first.locator(".avatar")).to_be_visible()

    # a link that opens safely, and a javascript: URL that stays text
    link = page.locator("#messages .message-body a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://example.com/docs")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    body = link.locator("xpath=..")
    expect(body).to_have_text("資料はhttps://example.com/docsです。javascript:alert(1) は押せません")

    # "Load older": the day before yesterday gets its own separator, yesterday's first
    # message joins the run it starts
    page.locator(".load-older").click()
    expect(page.locator("#messages .message[data-message-id]")).to_have_count(52)
    three_days = history.today - timedelta(days=3)
    label = f"{three_days.month}月{three_days.day}日({JA_DAYS[three_days.weekday()]})"
    expect(page.locator("#messages .day-separator")).to_have_text([label, "昨日", "今日"])
    assert continued(page) == [False, False, True, False, False] + [True] * 47

    # live: kenji's two quick messages form a new run (the last was over five minutes ago)
    for text in ("お疲れさまです", "明日もよろしく"):
        assert kenji.send(conversation_id, text).status_code == 201
    expect(messages_by(page, "kenji").last).to_contain_text("明日もよろしく")
    assert continued(page)[-2:] == [False, True]
    page.locator(COMPOSER).fill("こちらこそ")
    page.locator(COMPOSER).press("Enter")
    expect(messages_by(page, "haru").last).to_contain_text("こちらこそ")
    expect(messages_by(page, "haru").last).not_to_have_class(re.compile("continued"))
    expect(page.locator("#messages .day-separator")).to_have_text([label, "昨日", "今日"])
    # one's own preview says "あなた:", live as well
    preview = page.locator(f"[data-preview-of='{conversation_id}']")
    expect(preview).to_have_text("あなた: こちらこそ", use_inner_text=True)

    # the resync re-fetch: the newest page again, grouped the same way
    page.evaluate("document.body.dispatchEvent(new CustomEvent('kehai:resync', {bubbles: true}))")
    expect(page.locator("#messages .message[data-message-id]")).to_have_count(50)
    expect(page.locator("#messages .day-separator")).to_have_text(["今日"])
    assert continued(page)[-3:] == [False, True, False]

    # kenji leaves: "online just now", a minute later "1分前にオンライン"
    kenji_page = page_for(kenji, locale="ja-JP", timezone_id=zone_name)
    kenji_page.goto("/")
    stream_connected(kenji_page)
    status = page.locator(".chat-title [data-status-text-of=kenji]")
    expect(status).to_have_text("オンライン")
    kenji_page.context.close()
    expect(status).to_have_text("たった今オンライン")
    page.clock.run_for(61_000)
    expect(status).to_have_text("1分前にオンライン")


def test_an_english_history_reads_yesterday_today_and_times_without_a_leading_zero(
        live: Any, page_for: Any, problems: Any) -> None:
    zone_name, zone = noon_zone()
    live.person("alice", display_name="Alice Moreau")
    bob = live.person("bob", display_name="Bob Tanaka")
    conversation_id = bob.start_direct("alice")
    history = History(live, zone)
    history.add(conversation_id, "alice", "Did you see the draft?", history.at(1, 9, 5))
    history.add(conversation_id, "alice", "It is in the shared folder.", history.at(1, 9, 6))
    history.add(conversation_id, "bob", "Reading it now.", history.at(1, 9, 7))
    history.add(conversation_id, "alice", "Notes: https://example.com/notes.", history.at(0, 10, 30))
    history.close()
    sent = bob.send(conversation_id, "Looks good to me")
    assert sent.status_code == 201
    newest = re.search(r'data-message-id="(\d+)"', sent.text)
    assert newest, sent.text
    bob.post(f"/c/{conversation_id}/read", {"up_to": newest.group(1)})  # nothing unread

    page = page_for(bob, locale="en-US", timezone_id=zone_name)
    page.goto(f"/c/{conversation_id}")
    stream_connected(page)
    expect(page.locator("#messages .day-separator")).to_have_text(["Yesterday", "Today"])
    first = page.locator("#messages .message[data-message-id]").first
    expect(first.locator(".message-meta time")).to_have_text(re.compile(r"^9:05\sAM$"))
    assert continued(page) == [False, True, False, False, False]
    expect(page.locator("#messages .message-body a")).to_have_attribute("href", "https://example.com/notes")
    expect(page.locator(f"[data-preview-of='{conversation_id}']")).to_have_text("You: Looks good to me", use_inner_text=True)
    # the time of a message inside a run shows on hover
    # (shown on hover or focus; transparent, not hidden, so a screen reader still reads it)
    second_meta = page.locator("#messages .message.continued .message-meta").first
    expect(second_meta).to_have_css("opacity", "0")
    expect(second_meta.locator("time")).to_have_text(re.compile(r"^9:06\sAM$"))
    page.locator("#messages .message.continued .message-body").first.hover()
    expect(second_meta).to_have_css("opacity", "1")
    page.mouse.move(0, 0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "history.png"))

    # an error flash sits clear of the header, closes on ✕, and goes by itself
    problems.allow(r"status of 422")
    page.locator(COMPOSER).fill("x" * 4001)
    page.locator(COMPOSER).press("Enter")
    flash = page.locator("#flash .flash-message")
    expect(flash).to_be_visible()
    header = page.locator(".chat-header").bounding_box()
    assert flash.bounding_box()["y"] > header["y"] + header["height"]
    page.locator("#flash [data-flash-close]").click()
    expect(flash).to_have_count(0)
    page.locator("[data-outbox=retry]").click()
    expect(flash).to_be_visible()
    expect(flash).to_have_count(0, timeout=10_000)

    # settings: each checkbox at the left edge, its label the rest of the line
    page.goto("/settings")
    form = page.locator("form[action='/settings']").bounding_box()
    for name in ("show_presence", "send_read_receipts"):
        box = page.locator(f"input[name={name}]").bounding_box()
        label = page.locator(f"label.check:has(input[name={name}])").bounding_box()
        assert abs(box["x"] - form["x"]) < 2, (box, form)
        assert label["width"] > form["width"] * 0.95 and label["height"] < 2 * box["height"] + 8


def test_on_a_phone_enter_breaks_the_line_members_show_presence_and_start_stays_one_line(
        live: Any, page_for: Any) -> None:
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    live.person("kenji", display_name="佐藤 健二", lang="ja")
    live.person("mika", display_name="鈴木 美香", lang="ja")
    group_id = haru.start_group("週末の予定", ["kenji", "mika"])
    page = page_for(haru, locale="ja-JP", timezone_id="Asia/Tokyo", has_touch=True,
                    is_mobile=True, viewport={"width": 390, "height": 800})
    page.goto(f"/c/{group_id}")
    stream_connected(page)
    members = page.locator(".member-list")
    expect(members).to_be_visible()
    expect(members.locator("[data-presence-of=kenji]")).to_be_visible()
    expect(members.locator("[data-presence-of=kenji]")).to_have_attribute("aria-label", "オフライン")

    box = page.locator(COMPOSER)
    box.tap()
    box.press_sequentially("一行目")
    box.press("Enter")
    box.press_sequentially("二行目")
    expect(box).to_have_value("一行目\n二行目")
    expect(page.locator("#messages .message")).to_have_count(0)
    page.locator("#composer .send").tap()
    expect(messages_by(page, "haru")).to_have_count(1)
    expect(messages_by(page, "haru").locator(".message-body")).to_have_text("一行目\n二行目")
    expect(box).to_have_value("")

    for width in (320, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto("/")
        page.locator(".new-chat summary").click()
        start = page.locator(".new-chat .row .button")
        expect(start).to_have_text("開始")
        one_line(start)
