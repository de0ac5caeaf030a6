"""A changed display name shows at once wherever it is on screen, for everyone who shares a
conversation with that person and in their own other tabs (real Chromium, ja and en)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.helpers import stream_connected

JA = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}


def opened(page: Any, path: str) -> Any:
    page.goto(path)
    stream_connected(page)
    return page


def test_a_new_display_name_shows_live_on_the_other_persons_open_pages(live: Any,
                                                                        page_for: Any) -> None:
    aki = live.person("aki", display_name="田中 亜希", lang="ja")
    ben = live.person("ben", display_name="Ben Hart")
    direct = aki.start_direct("ben")
    group = aki.start_group("山の会", ["ben"])
    assert ben.send(direct, "Hello from Ben").status_code == 201
    sent = aki.send(group, "土曜日はどうですか？")
    mid = re.search(r'data-message-id="(\d+)"', sent.text).group(1)
    assert ben.post(f"/c/{group}/read", {"up_to": mid}).status_code in (200, 204)

    aki_direct = opened(page_for(aki, **JA), f"/c/{direct}")
    aki_group = opened(aki_direct.context.new_page(), f"/c/{group}")
    ben_settings = opened(page_for(ben), "/settings")
    ben_chat = opened(ben_settings.context.new_page(), f"/c/{direct}")
    expect(aki_group.locator(".reader-name")).to_have_text("Ben Hart")

    expect(aki_direct.locator(".chat-header [data-initials-of=ben]").first).to_have_text("BH")
    aki_direct.fill("#body", "下書き")
    ben_settings.fill("#display_name", "  Kenji   H. ")
    ben_settings.get_by_role("button", name="Save").click()
    expect(ben_settings.locator("p.saved")).to_have_text("Saved.")

    new = "Kenji H."
    expect(aki_direct.locator(".chat-header h1")).to_have_text(new)
    expect(aki_direct.locator(f"#conv-{direct} .conv-title")).to_have_text(new)
    expect(aki_direct.locator(f"#conv-{direct} .preview-name")).to_have_text(f"{new}:")
    expect(aki_direct.locator("#messages .message[data-author=ben] .message-author")
           ).to_have_text(new)
    expect(aki_group.locator(".chat-header .member-list")).to_contain_text(new)
    expect(aki_group.locator(".reader-name")).to_have_text(new)
    expect(ben_chat.locator(".me-name")).to_have_text(new)
    expect(aki_direct.locator(".chat-header [data-initials-of=ben]").first).to_have_text("KH")
    expect(aki_direct).to_have_title(re.compile(f"^{re.escape(new)}"))
    # the composer of the direct chat addresses him by the new name, in aki's language,
    # and a draft she had begun stays as it was; the group's composer keeps its title
    expect(aki_direct.locator("#body")).to_have_attribute("placeholder", f"{new}へのメッセージ")
    expect(aki_group.locator("#body")).to_have_attribute("placeholder", "山の会へのメッセージ")
    expect(aki_direct.locator("#body")).to_have_value("下書き")


def test_a_name_that_cannot_be_used_is_refused_with_a_message_in_japanese(
        live: Any, page_for: Any, problems: Any) -> None:
    problems.allow(r"status of 422 .*/settings")  # the refusal itself
    kumi = live.person("kumi", display_name="佐藤 久美", lang="ja")
    page = opened(page_for(kumi, **JA), "/settings")
    page.fill("#display_name", "a" * 64)
    page.evaluate("() => { document.querySelector('#display_name').removeAttribute('maxlength');"
                  " document.querySelector('#display_name').value += 'b'; }")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#display-name-error")).to_contain_text("64")
    expect(page.locator("#display_name")).to_have_value("a" * 64 + "b")  # kept to fix it
