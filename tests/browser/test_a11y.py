"""Accessibility checked by a real tool: axe-core (vendored for the tests only, never served)
runs on every kind of page, in Japanese and in English, and any serious or critical violation
fails the test with the rules, the elements and axe's own explanation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live
from tests.browser.helpers import stream_connected
from tests.browser.test_presence import create_operator

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
LABELS = {"ja": {"online": "オンライン", "away": "離席中", "offline": "オフライン"},
          "en": {"online": "Online", "away": "Away", "offline": "Offline"}}
LOCALES = {"ja": {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"},
           "en": {"locale": "en-US", "timezone_id": "America/New_York"}}
RUN_AXE = """async () => {
  const found = await axe.run(document, { resultTypes: ["violations"] });
  return found.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help}\\n` + v.nodes.slice(0, 5)
      .map((n) => `      ${n.target.join(" ")}: ${n.failureSummary.replace(/\\s+/g, " ")}`).join("\\n"));
}"""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """Typing held for a minute, so the typing line is still there while axe looks at it."""
    srv = Live(tmp_path / "srv", tuning={"typing_expiry_s": 60.0})
    yield srv
    srv.close()


# Each presence dot: its status told by shape (filled, half, ring) and by its label, and its
# ring at least 3:1 against the panel halo it sits on (non-text contrast, which axe skips).
DOTS = """() => [...document.querySelectorAll(".presence-dot")].filter((d) => d.offsetParent).map((d) => {
  const lum = (c) => { const [r, g, b] = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map((x) => {
    x = Number(x) / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const s = getComputedStyle(d), ring = lum(s.borderTopColor), halo = lum("rgb(255, 255, 255)");
  const filled = s.backgroundImage !== "none" ? "half" : lum(s.backgroundColor) === halo ? "ring" : "filled";
  return { status: d.dataset.status, label: d.getAttribute("aria-label"), shape: filled,
           contrast: (Math.max(ring, halo) + 0.05) / (Math.min(ring, halo) + 0.05) };
})"""
SHAPES = {"online": "filled", "away": "half", "offline": "ring"}


def check_dots(page: Any, labels: dict[str, str]) -> None:
    dots = page.evaluate(DOTS)
    assert dots
    for dot in dots:
        assert dot["shape"] == SHAPES[dot["status"]], dot
        assert dot["label"] == labels[dot["status"]], dot
        assert dot["contrast"] >= 3, dot


def message_id(sent: Any) -> str:
    found = re.search(r'data-message-id="(\d+)"', sent.text)
    assert found, sent.text
    return found.group(1)


def audit(page: Any, what: str, found: list[str]) -> None:
    """Add what axe finds serious or critical on `page` (loaded, its stream live if any)."""
    found.extend(f"[{what}] {v}" for v in page.evaluate(RUN_AXE))


def test_every_kind_of_page_has_no_serious_accessibility_violation_in_ja_and_en(
        live: Any, new_page: Any, page_for: Any, problems: Any) -> None:
    haru = live.person("haru", display_name="山田 春子", lang="ja")
    kenji = live.person("kenji", display_name="佐藤 健二", lang="ja")
    live.person("mika", display_name="鈴木 美香", lang="ja")
    olga = create_operator(live, "olga", "Olga Op")
    direct = haru.start_direct("kenji")
    group = haru.start_group("週末の予定", ["kenji", "mika"])
    kenji.send(direct, "明日の資料です https://example.com/docs")
    sent = haru.send(direct, "ありがとう！")
    kenji.post(f"/c/{direct}/read", {"up_to": message_id(sent)})  # haru's message shows 既読
    for who, text in ((kenji, "土曜は晴れるみたい"), (haru, "いいね"), (haru, "公園にしよう")):
        last = who.send(group, text)
    kenji.post(f"/c/{group}/read", {"up_to": message_id(last)})  # "Read by 1", opening to kenji
    problems.allow(r"status of 40[34]")  # the error pages are audited on purpose

    found: list[str] = []
    for lang, options in LOCALES.items():
        anon = new_page(f"anon-{lang}", **options)
        anon.context.add_init_script(path=str(AXE))  # init scripts are not subject to the CSP
        for path in ("/login", "/register"):
            anon.goto(path)
            audit(anon, f"{lang} {path}", found)

        page = page_for(haru, **options)
        page.context.add_init_script(path=str(AXE))
        page.goto("/")
        stream_connected(page)
        audit(page, f"{lang} conversation list", found)
        page.goto(f"/c/{direct}")
        stream_connected(page)
        expect(page.locator(".message.mine .read-mark")).to_have_attribute("data-read-count", "1")
        kenji.post(f"/c/{direct}/typing", {"body": "入力中", "seq": "1"})
        expect(page.locator("#typing")).not_to_have_text("")
        audit(page, f"{lang} direct chat (links, read marks, typing)", found)
        check_dots(page, LABELS[lang])
        dots = page.locator("#typing .dots")
        assert dots.evaluate("d => getComputedStyle(d, '::after').animationName") == "typing-dots"
        page.emulate_media(reduced_motion="reduce")  # the typing dots stand still
        assert dots.evaluate("d => getComputedStyle(d, '::after').animationName") == "none"
        page.emulate_media(reduced_motion="no-preference")
        page.goto(f"/c/{group}")
        stream_connected(page)
        audit(page, f"{lang} group chat", found)
        page.locator(".message.mine details.read-mark summary").last.click()
        audit(page, f"{lang} group chat, readers open", found)
        page.goto("/settings")
        audit(page, f"{lang} settings", found)
        page.goto("/dashboard")  # not an operator: the 403 page
        audit(page, f"{lang} error page (403)", found)
        page.goto("/c/999999")
        audit(page, f"{lang} 404", found)

        operator = page_for(olga, **options)
        operator.context.add_init_script(path=str(AXE))
        operator.goto("/dashboard")
        stream_connected(operator)
        expect(operator.locator("tr[data-user]").first).to_be_visible()
        audit(operator, f"{lang} operators' dashboard", found)

    assert not found, "axe found serious or critical violations:\n  " + "\n  ".join(found)
