"""Replies in a real Chromium: an English reader answers a Japanese writer's message; the
quote shows live for both, in each one's language, a click on it goes to the message it
answers, Escape gives up a reply, and a deleted original turns every quote of it into
"deleted"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live
from tests.browser.helpers import messages_by, send_from, stream_connected, streamed_message
from tests.support import ROOT

SCREENSHOTS = ROOT / "static" / "screenshots"
JA = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}
EN = {"locale": "en-US", "timezone_id": "Europe/London"}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """A history longer than a screen is sent quickly, past the usual per-user rate."""
    server = Live(tmp_path / "srv", tuning={"message_limit": [1000, 10]})
    yield server
    server.close()


def open_chat(page: Any, conversation_id: int) -> None:
    page.goto(f"/c/{conversation_id}")
    stream_connected(page)


def test_a_reply_quotes_its_message_live_and_a_click_on_the_quote_goes_there(
        live: Any, page_for: Any) -> None:
    kumi = live.person("kumi", display_name="佐藤 久美", lang="ja")
    sam = live.person("sam", display_name="Sam Lee", lang="en")
    room = kumi.start_direct("sam")
    for n in range(30):  # enough that the first one is off screen at the bottom
        assert kumi.send(room, f"古い話 {n}").status_code == 201
    writer = page_for(kumi, **JA)
    reader = page_for(sam, **EN)
    open_chat(writer, room)
    open_chat(reader, room)

    # From the keyboard (the button shows on focus as on hover): a hover can be lost when
    # the list scrolls under the pointer (a late swap keeps it at the bottom).
    first = messages_by(reader, "kumi").first
    reply_button = first.locator("[data-message-reply]")
    reply_button.focus()
    expect(reply_button).to_be_visible()
    reply_button.press("Enter")
    bar = reader.locator("[data-replying]")
    expect(bar).to_be_visible()
    expect(bar.locator(".replying-label")).to_have_text("Replying to 佐藤 久美")
    expect(bar.locator(".replying-snippet")).to_have_text("古い話 0")
    expect(reader.locator("#composer textarea")).to_be_focused()
    # Escape gives it up; Reply again, and this time send.
    reader.locator("#composer textarea").press("Escape")
    expect(bar).to_be_hidden()
    reply_button.focus()
    reply_button.press("Enter")
    expect(bar).to_be_visible()
    send_from(reader, "That was a while ago!")
    expect(bar).to_be_hidden()

    reply = messages_by(reader, "sam").last
    expect(reply.locator(".reply-quote")).to_contain_text("佐藤 久美")
    expect(reply.locator(".reply-quote")).to_contain_text("古い話 0")
    streamed_message(writer, reply.get_attribute("data-message-id") or "")
    theirs = messages_by(writer, "sam").last
    expect(theirs.locator(".message-body")).to_have_text("That was a while ago!")
    expect(theirs.locator(".reply-quote")).to_contain_text("古い話 0")
    # The quote is a way back to what it answers.
    target = messages_by(writer, "kumi").first
    theirs.locator(".reply-quote").click()
    writer.wait_for_function(
        "(id) => { const b = document.querySelector('#messages').getBoundingClientRect(),"
        " m = document.getElementById(id).getBoundingClientRect();"
        " return m.top >= b.top && m.bottom <= b.bottom; }",
        arg=target.get_attribute("id"))
    reader.screenshot(path=str(SCREENSHOTS / "reply.png"))

    # The answered message deleted: every quote of it says so, in each reader's language.
    # (deleted from another device: the pages only hear of it)
    original = target.get_attribute("data-message-id")
    assert kumi.post(f"/c/{room}/messages/{original}/delete").status_code == 200
    expect(theirs.locator(".reply-quote")).to_contain_text("このメッセージは削除されました")
    expect(reply.locator(".reply-quote")).to_contain_text("This message was deleted.")
    expect(reply.locator(".reply-quote")).not_to_contain_text("古い話")
