"""Editing, deleting and exact read times in a real Chromium: an English author and a Japanese
reader, each seeing the other's changes live (issue 15, items 1 and 2)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.helpers import messages_by, send_from, stream_connected, streamed_message
from tests.support import ROOT

SCREENSHOTS = ROOT / "static" / "screenshots"
JA = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}
EN = {"locale": "en-US", "timezone_id": "Europe/London"}


def open_chat(page: Any, conversation_id: int) -> None:
    page.goto(f"/c/{conversation_id}")
    stream_connected(page)


def read_time(page: Any, message_id: int) -> str:
    mark = page.locator(f"#read-mark-{message_id} time")
    expect(mark).to_have_count(1)
    return mark.get_attribute("datetime") or ""


def test_an_edit_and_a_delete_show_live_in_both_languages(live: Any, page_for: Any) -> None:
    emma = live.person("emma", display_name="Emma", lang="en")
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    room = emma.start_direct("haru")
    writer = page_for(emma, **EN)
    reader = page_for(haru, **JA)
    open_chat(writer, room)
    open_chat(reader, room)

    send_from(writer, "See you at 7pm")
    send_from(writer, "bring the tickets")
    streamed_message(reader, "2")
    mine = messages_by(writer, "emma").first
    # The reader's copy has the same buttons (one rendering for all) but never shows them.
    expect(messages_by(reader, "emma").first.locator("[data-message-edit]")).to_be_hidden()

    mine.hover()
    mine.locator("[data-message-edit]").click()
    box = mine.locator("form.message-edit textarea")
    expect(box).to_have_value("See you at 7pm")
    box.fill("See you at 8pm")
    box.press("Enter")
    for page, edited in ((writer, "(edited)"), (reader, "(編集済み)")):
        first = messages_by(page, "emma").first
        expect(first.locator(".message-body")).to_have_text("See you at 8pm")
        expect(first.locator(".message-edited")).to_have_text(edited)
    expect(mine.locator("form.message-edit")).to_have_count(0)

    # Escape gives up an edit and changes nothing.
    mine.hover()
    mine.locator("[data-message-edit]").click()
    mine.locator("form.message-edit textarea").fill("never mind")
    mine.locator("form.message-edit textarea").press("Escape")
    expect(mine.locator(".message-body")).to_have_text("See you at 8pm")

    last = messages_by(writer, "emma").last
    writer.once("dialog", lambda dialog: dialog.accept())
    last.hover()
    last.locator("[data-message-delete]").click()
    expect(last.locator(".message-body")).to_have_text("This message was deleted.")
    gone = messages_by(reader, "emma").last
    expect(gone.locator(".message-body")).to_have_text("このメッセージは削除されました")
    expect(reader.locator(f"[data-preview-of='{room}']")).to_contain_text("メッセージは削除されました")
    expect(gone.locator("[data-message-edit]")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    writer.set_viewport_size({"width": 1280, "height": 800})
    writer.screenshot(path=str(SCREENSHOTS / "edited-deleted.png"))

    # After a reload both still tell the same.
    reader.reload()
    stream_connected(reader)
    expect(messages_by(reader, "emma").first.locator(".message-edited")).to_have_text("(編集済み)")
    expect(messages_by(reader, "emma").last.locator(".message-body")).to_have_text(
        "このメッセージは削除されました")


def test_each_message_keeps_the_time_it_was_first_read(live: Any, page_for: Any) -> None:
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    emma = live.person("emma", display_name="Emma", lang="en")
    room = haru.start_direct("emma")
    writer = page_for(haru, **JA)
    open_chat(writer, room)
    send_from(writer, "一通目")
    reader = page_for(emma, **EN)
    open_chat(reader, room)  # reads the first message
    first = read_time(writer, 1)
    expect(writer.locator("#read-mark-1")).to_contain_text("既読")
    reader.close()
    writer.wait_for_timeout(1100)  # the second read happens at a later second
    send_from(writer, "二通目")
    reader = page_for(emma, **EN)
    open_chat(reader, room)
    second = read_time(writer, 2)
    assert second > first
    writer.reload()
    stream_connected(writer)
    # Before: every read message showed the reader's latest read time after a reload.
    assert (read_time(writer, 1), read_time(writer, 2)) == (first, second)


def test_a_group_lists_who_read_and_when_on_click(live: Any, page_for: Any) -> None:
    emma = live.person("emma", display_name="Emma", lang="en")
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    liam = live.person("liam", display_name="Liam", lang="en")
    room = emma.start_group("Trip", ["haru", "liam"])
    pages = {"emma": page_for(emma, **EN), "haru": page_for(haru, **JA),
             "liam": page_for(liam, **EN)}
    for page in pages.values():
        open_chat(page, room)
    send_from(pages["emma"], "Flights are booked")
    send_from(pages["haru"], "ありがとう！")
    for name, text in (("emma", "Read by 2"), ("haru", "既読 2")):
        page = pages[name]
        mark = messages_by(page, name).last.locator(".read-mark")
        expect(mark.locator("summary")).to_have_text(text)
        mark.locator("summary").click()
        readers = mark.locator(".readers li")
        expect(readers).to_have_count(2)
        for i in range(2):
            # Each reader with their own time, in the reader's clock ("9:41"-like text).
            expect(readers.nth(i).locator("time")).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
        names = readers.locator(".reader-name").all_text_contents()
        assert sorted(names) == sorted({"emma": ["山田 春子", "Liam"],
                                        "haru": ["Emma", "Liam"]}[name])
