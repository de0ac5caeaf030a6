"""Groups people manage, in a real Chromium: rename, add, remove and leave, seen live in every
open tab of every member, in Japanese and English, and a new chat in the other's list at once.

One server for the module (each test its own people): a server start costs seconds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live
from tests.browser.helpers import messages_by, stream_connected
from tests.support import ROOT

JA = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}
SCREENSHOTS = ROOT / "static" / "screenshots"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    srv = Live(Path(tmp_path_factory.mktemp("groups")) / "srv")
    yield srv
    srv.close()


def opened(page: Any, path: str) -> Any:
    page.goto(path)
    stream_connected(page)
    return page


def message_id(response: Any) -> str:
    assert response.status_code == 201, response.text
    return re.search(r'data-message-id="(\d+)"', response.text).group(1)


def test_a_renamed_group_is_renamed_in_every_tab_of_every_member(live: Live, page_for: Any
                                                                  ) -> None:
    aki = live.person("aki1", display_name="田中 亜希", lang="ja")
    ben = live.person("ben1", display_name="Ben Hart")
    cid = aki.start_group("週末の予定", ["ben1"])
    aki_chat = opened(page_for(aki, **JA), f"/c/{cid}")
    ben_chat = opened(page_for(ben), f"/c/{cid}")
    ben_list = opened(ben_chat.context.new_page(), "/")

    aki_settings = aki_chat.context.new_page()
    aki_settings.goto(f"/c/{cid}")
    aki_settings.get_by_role("link", name="グループ設定").click()
    for page in (aki_chat, ben_chat, ben_list):
        expect(page.locator(f"#conv-{cid} .initials")).to_have_text("週")
    aki_settings.fill("#group-title", "  キャンプ  週末 ")
    aki_settings.get_by_role("button", name="変更").click()
    expect(aki_settings.locator("p.saved")).to_have_text("保存しました。")

    for page in (aki_chat, ben_chat):
        expect(page.locator(".chat-header h1")).to_have_text("キャンプ 週末")
    for page in (aki_chat, ben_chat, ben_list):
        expect(page.locator(f"#conv-{cid} .conv-title")).to_have_text("キャンプ 週末")
    expect(ben_chat).to_have_title(re.compile("^キャンプ 週末"))
    # the group's letter, wherever its avatar shows, and the composer's placeholder, in each
    # reader's language
    for page in (aki_chat, ben_chat, ben_list):
        expect(page.locator(f"#conv-{cid} .initials")).to_have_text("キ")
    for page in (aki_chat, ben_chat):
        expect(page.locator(".chat-header .avatar-group .initials")).to_have_text("キ")
    expect(aki_chat.locator("#body")).to_have_attribute("placeholder", "キャンプ 週末へのメッセージ")
    expect(ben_chat.locator("#body")).to_have_attribute("placeholder", "Message キャンプ 週末")
    # A line in the history says so, in each reader's language, and is news only to others.
    expect(aki_chat.locator("#messages .system-line")).to_contain_text(
        "田中 亜希さんがグループ名を「キャンプ 週末」に変更しました")
    expect(ben_chat.locator("#messages .system-line")).to_contain_text(
        "田中 亜希 renamed the group to “キャンプ 週末”")
    # Ben's list shows it as the latest; whether it is unread there depends on his open chat
    # tab having read it already (it is on screen), so that is checked in tests/test_groups.py.
    expect(ben_list.locator(f"[data-preview-of='{cid}']")).to_contain_text("renamed the group")
    expect(aki_chat.locator(f"#conv-{cid} [data-unread-of]")).to_be_hidden()
    aki_chat.reload()
    expect(aki_chat.locator("#messages .system-line")).to_contain_text("に変更しました")


def test_someone_added_sees_the_group_at_once_and_the_members_see_them(live: Live,
                                                                        page_for: Any) -> None:
    aki = live.person("aki2", display_name="田中 亜希", lang="ja")
    live.person("ben2", display_name="Ben Hart")
    cara = live.person("cara2", display_name="Cara Diaz")
    cid = aki.start_group("Book club", ["ben2"])
    cara_list = opened(page_for(cara), "/")
    expect(cara_list.locator(f"#conv-{cid}")).to_have_count(0)
    aki_page = opened(page_for(aki, **JA), f"/c/{cid}/settings")
    aki_chat = opened(aki_page.context.new_page(), f"/c/{cid}")

    aki_page.fill("#add-names", "cara2")
    aki_page.get_by_role("button", name="追加", exact=True).click()
    expect(aki_page.locator("#manage-members [data-member='cara2']")).to_be_visible()

    expect(cara_list.locator(f"#conv-{cid} .conv-title")).to_have_text("Book club")
    expect(aki_chat.locator(".chat-header .member-list")).to_contain_text("Cara Diaz")
    expect(aki_chat.locator("#messages .system-line")).to_contain_text(
        "田中 亜希さんがCara Diazさんを追加しました")
    # and it works as a room for her: what is said now reaches her list
    aki.send(cid, "ようこそ！")
    expect(cara_list.locator(f"#conv-{cid} .conv-preview")).to_contain_text("ようこそ！")


def test_someone_removed_loses_the_group_and_its_stream_carries_nothing_more_of_it(
        live: Live, page_for: Any, new_page: Any) -> None:
    aki = live.person("aki3", display_name="田中 亜希", lang="ja")
    ben = live.person("ben3", display_name="Ben Hart")
    cara = live.person("cara3", display_name="Cara Diaz")
    cid = aki.start_group("Lunch", ["ben3", "cara3"])
    with_cara = ben.start_direct("cara3")  # a room she stays in
    cara_chat = opened(page_for(cara), f"/c/{cid}")
    cara_list = opened(cara_chat.context.new_page(), "/")
    ben_chat = opened(page_for(ben), f"/c/{cid}")
    aki_page = opened(page_for(aki, **JA), f"/c/{cid}/settings")

    aki_page.get_by_role("button", name="Cara Diazさんをグループから削除").click()
    expect(aki_page.locator("#manage-members [data-member='cara3']")).to_have_count(0)

    expect(cara_chat.locator("[role=alert] h1")).to_have_text(
        "You are no longer a member of this group")
    expect(cara_chat.locator("#composer")).to_have_count(0)
    for page in (cara_chat, cara_list):
        expect(page.locator(f"#conv-{cid}")).to_have_count(0)
    expect(ben_chat.locator(".chat-header .member-list")).not_to_contain_text("Cara Diaz")

    after = message_id(ben.send(cid, "Cara has gone"))
    expect(messages_by(ben_chat, "ben3").last).to_contain_text("Cara has gone")
    # Events reach a stream in order: once the direct chat's message is there, the group's
    # (sent before it) would have been too.
    marker = message_id(ben.send(with_cara, "still friends?"))
    for page in (cara_chat, cara_list):
        page.wait_for_function(
            "(id) => __kehaiSse.events.some((e) => e.kind === 'new-message' && e.messageId === id)",
            arg=marker)
        ids = page.evaluate("() => __kehaiSse.events.map((e) => e.messageId)")
        assert after not in ids
        kinds = page.evaluate("() => __kehaiSse.events.map((e) => e.kind)")
        assert kinds.count("room-left") == 1


def test_leaving_a_group_takes_it_out_of_ones_list_and_the_others_see_it(
        live: Live, page_for: Any) -> None:
    aki = live.person("aki4", display_name="田中 亜希", lang="ja")
    ben = live.person("ben4", display_name="Ben Hart")
    cid = aki.start_group("Standup", ["ben4"])
    aki_chat = opened(page_for(aki, **JA), f"/c/{cid}")
    ben_page = opened(page_for(ben), f"/c/{cid}/settings")
    ben_other = opened(ben_page.context.new_page(), f"/c/{cid}")

    ben_page.get_by_role("button", name="Leave the group").click()
    expect(ben_page).to_have_url(re.compile(r"/$"))
    expect(ben_page.locator(f"#conv-{cid}")).to_have_count(0)
    expect(ben_other.locator("[role=alert] h1")).to_have_text(
        "You are no longer a member of this group")
    expect(aki_chat.locator(".chat-header .member-list")).not_to_contain_text("Ben Hart")
    expect(aki_chat.locator(".chat-header .member-list")).to_contain_text("田中 亜希")


def test_a_new_chat_is_in_the_other_persons_list_before_its_first_message(
        live: Live, page_for: Any) -> None:
    aki = live.person("aki5", display_name="田中 亜希", lang="ja")
    dan = live.person("dan5", display_name="Dan Ito")
    aki_list = opened(page_for(aki, **JA), "/")
    cid = dan.start_direct("aki5")
    expect(aki_list.locator(f"#conv-{cid} .conv-title")).to_have_text("Dan Ito")
    expect(aki_list.locator(f"#conv-{cid} .conv-preview")).to_have_text("まだメッセージはありません")
    gid = dan.start_group("Tennis", ["aki5"])
    expect(aki_list.locator(f"#conv-{gid} .conv-title")).to_have_text("Tennis")


def test_the_group_settings_page_screenshot(live: Live, page_for: Any, artifacts: Path) -> None:
    aki = live.person("aki6", display_name="田中 亜希")
    for name, shown in (("ben6", "Ben Hart"), ("cara6", "Cara Diaz"), ("dan6", "伊藤 大輔")):
        live.person(name, display_name=shown)
    cid = aki.start_group("Weekend hiking", ["ben6", "cara6", "dan6"])
    aki.send(cid, "Saturday, 9:00 at the station?")
    page = opened(page_for(aki), f"/c/{cid}/settings")
    expect(page.locator("#manage-members li")).to_have_count(4)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "group-settings.png"))
    page.fill("#group-title", "Weekend hike")
    page.get_by_role("button", name="Rename").click()
    page.get_by_role("link", name="Back to the chat").click()
    expect(page.locator("#messages .system-line")).to_have_count(1)
    page.screenshot(path=str(artifacts / "group-chat.png"))  # for a reviewer, not the README
