"""When the link goes: every tab says so at once, and nothing typed meanwhile is lost."""

from __future__ import annotations

import json
import re
import signal
import time
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.helpers import COMPOSER, messages_by, send_from, stream_connected
from tests.support import ROOT

SCREENSHOTS = ROOT / "static" / "screenshots"
NOTICE = "#link-notice"
# What Chromium logs while the server is away on purpose: every refused or failed request.
OUTAGE = (r"Failed to load resource: net::ERR_\w+",
          r"Failed to load resource: the server responded with a status of 50[23]")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / name))


def outbox(page: Any) -> list[dict[str, Any]]:
    raw = page.evaluate("""() => Object.keys(localStorage).filter((k) => k.startsWith('kehai-outbox:'))
                               .flatMap((k) => JSON.parse(localStorage.getItem(k)))""")
    return json.loads(json.dumps(raw))


def stored_copies(person: Any, conversation_id: int, text: str) -> int:
    return person.http.get(f"/c/{conversation_id}").text.count(f">{text}<")


def test_a_server_outage_shows_in_every_tab_within_two_seconds_and_loses_nothing(
        live: Any, page_for: Any, problems: Any) -> None:
    for expected in OUTAGE:
        problems.allow(expected)
    alice, bob = live.person("alice"), live.person("bob")
    conversation_id = bob.start_direct("alice")
    assert bob.send(conversation_id, "Are you there?").status_code == 201
    chat = page_for(alice)
    chat.goto(f"/c/{conversation_id}")
    stream_connected(chat)
    listing = chat.context.new_page()  # a second tab, on the conversation list
    listing.goto("/")
    stream_connected(listing)
    for page in (chat, listing):
        expect(page.locator(NOTICE)).to_be_hidden()

    live.server.proc.send_signal(signal.SIGTERM)  # the server goes away
    stopped = time.monotonic()
    for page in (chat, listing):
        expect(page.locator(NOTICE)).to_be_visible(timeout=10_000)
    shown_after = time.monotonic() - stopped
    screenshot(chat, "reconnecting.png")
    print(f"reconnecting notice in both tabs {shown_after:.2f} s after the server stopped")
    assert shown_after < 2.5, f"the notice took {shown_after:.2f} s"
    for page in (chat, listing):
        expect(page.locator(NOTICE)).to_have_text(re.compile(r"Reconnecting…"))
        expect(page.locator("body")).to_have_class(re.compile(r"\blink-down\b"))
        expect(page.locator(f"{NOTICE} [role=status]")).to_have_text("Reconnecting…")
    expect(chat.locator("#typing")).to_have_text("")

    # Written and sent during the outage: shown as on its way, kept in localStorage.
    send_from(chat, "typed while the server was down")
    pending = chat.locator("#messages [data-pending-id]")
    expect(pending).to_have_count(1)
    expect(pending.locator(".outbox-state")).to_have_text("Sending…", use_inner_text=True)
    expect(chat.locator(COMPOSER)).to_have_value("")
    assert [e["body"] for e in outbox(chat)] == ["typed while the server was down"]

    with pytest.raises(PlaywrightError, match=r"net::ERR_"):
        chat.reload()  # the tab is reloaded while the server is still away: it cannot load

    # Repeated failures: "Offline — retrying in N s", and a way to try at once.
    expect(listing.locator(NOTICE)).to_have_text(re.compile(r"Offline — retrying in \d+ s"),
                                                 timeout=15_000)
    retry = listing.locator(f"{NOTICE} [data-retry-now]")
    expect(retry).to_be_visible()
    tried = listing.evaluate("__kehaiSse.attempts")
    retry.click()
    listing.wait_for_function("(n) => __kehaiSse.attempts > n", arg=tried, timeout=2_000)
    expect(listing.locator(NOTICE)).to_be_visible()  # still down, and saying so

    live.server.proc.wait(15)
    live.start_again()
    back = time.monotonic()
    expect(listing.locator(NOTICE)).to_be_hidden(timeout=20_000)  # by itself, on its next try
    print(f"back online {time.monotonic() - back:.2f} s after the server was up again")
    expect(listing.locator("body")).not_to_have_class(re.compile(r"\blink-down\b"))

    # The reloaded tab loads again and sends what was waiting, exactly once.
    chat.goto(f"/c/{conversation_id}")
    stream_connected(chat)
    mine = messages_by(chat, "alice")
    expect(mine).to_have_count(1)
    expect(mine.locator(".message-body")).to_have_text("typed while the server was down")
    expect(chat.locator("#messages [data-pending-id]")).to_have_count(0)
    chat.wait_for_function("() => !Object.keys(localStorage).some((k) => k.startsWith('kehai-outbox:'))")
    bob.refresh_csrf("/")
    assert stored_copies(bob, conversation_id, "typed while the server was down") == 1
    chat.reload()
    stream_connected(chat)
    expect(messages_by(chat, "alice")).to_have_count(1)


def test_a_message_the_server_keeps_refusing_shows_not_sent_with_retry_and_delete(
        live: Any, page_for: Any, problems: Any) -> None:
    problems.allow(r"Failed to load resource: net::ERR_FAILED")
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    kenji = live.person("kenji", display_name="佐藤 健二", lang="ja")
    conversation_id = kenji.start_direct("haru")
    assert kenji.send(conversation_id, "資料を送ってもらえますか？").status_code == 201
    page = page_for(haru, locale="ja-JP", timezone_id="Asia/Tokyo")
    page.goto(f"/c/{conversation_id}")
    stream_connected(page)

    attempts: list[str] = []

    def refuse(route: Any) -> None:  # the stream stays up, only sending fails
        attempts.append(route.request.post_data or "")
        route.abort()

    page.route(re.compile(r"/c/\d+/messages$"), refuse)
    send_from(page, "今から送ります")
    send_from(page, "これは取り消します")
    pending = page.locator("#messages [data-pending-id]")
    expect(pending).to_have_count(2)
    expect(pending.first.locator(".outbox-state")).to_have_text("送信中…", use_inner_text=True)
    # A few tries each, in order (the second waits for the first), then the person decides.
    for item in (pending.first, pending.last):
        expect(item).to_have_attribute("data-state", "failed", timeout=15_000)
        expect(item.locator(".outbox-state")).to_have_text("送信できませんでした — 再送 / 削除", use_inner_text=True)
    screenshot(page, "not-sent.png")
    tries: dict[str, set[str]] = {}
    for form in attempts:
        fields = {name: values[0] for name, values in parse_qs(form).items()}
        tries.setdefault(fields["body"], set()).add(fields["client_id"])
    assert list(tries) == ["今から送ります", "これは取り消します"], tries
    assert all(len(ids) == 1 for ids in tries.values()), f"a retry changed client_id: {tries}"

    pending.last.locator("[data-outbox=delete]").click()
    expect(pending).to_have_count(1)
    page.unroute(re.compile(r"/c/\d+/messages$"))
    pending.first.locator("[data-outbox=retry]").click()
    mine = messages_by(page, "haru")
    expect(mine).to_have_count(1)
    expect(mine.locator(".message-body")).to_have_text("今から送ります")
    expect(pending).to_have_count(0)
    assert outbox(page) == []
    haru.refresh_csrf("/")
    assert stored_copies(haru, conversation_id, "今から送ります") == 1
    assert stored_copies(haru, conversation_id, "これは取り消します") == 0
