"""Hostile text everywhere people can type it: message bodies, display names, group titles.

Each payload of the corpus (tests/security/helpers.py) tries to run script, load something
from another site, steer htmx (partials, OOB swaps, hx-get=/logout on load) or smuggle SSE
fields. Wherever it is shown it must stay text: in the stored pages and fragments, in the
stream's frames, and in a real Chromium, live and after a reload.
"""

from __future__ import annotations

import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.security.helpers import (
    CORPUS,
    LABELS,
    NAME_CORPUS,
    PAYLOADS,
    TITLE_CORPUS,
    Markup,
    csrf_of,
    dangerous_markup,
    one_line,
    shown_text,
)
from tests.support import Person, Server

MESSAGE_ID = re.compile(r'data-message-id="(\d+)"')


@pytest.fixture
def config(config):
    """The corpus is sent faster than people type: lift the message limit for these tests."""
    return dataclasses.replace(config, message_limit=(10_000, 10.0))


def _lf(text: str) -> str:
    """Line breaks as an HTML parser delivers them (CRLF and CR become LF)."""
    return re.sub(r"\r\n?", "\n", text)


def _message_id(html: str) -> str:
    found = MESSAGE_ID.search(html)
    assert found, html[:300]
    return found.group(1)


# --------------------------------------------------------------------------------------------
# Requests: what the server stores and renders
# --------------------------------------------------------------------------------------------


async def test_message_bodies_come_back_as_text_in_the_fragment_the_page_and_the_history(
        make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)
    cid = int(r.headers["Location"].rsplit("/", 1)[1])
    ids: dict[str, str] = {}
    for label, payload in CORPUS:
        r = await alice.post(f"/c/{cid}/messages", {"body": payload})
        assert r.status_code == 201, label
        fragment = await r.get_data(as_text=True)
        assert dangerous_markup(fragment, hx_partials=2) == [], label
        ids[label] = _message_id(fragment)
        body = Markup(fragment).bodies[ids[label]]
        assert (body["text"], body["children"]) == (shown_text(payload), []), label

    for path in (f"/c/{cid}", f"/c/{cid}/messages?before={2**62}", "/sidebar", "/"):
        status, html = await bob.page(path, headers={"HX-Request": "true"}
                                      if "/messages" in path or path == "/sidebar" else {})
        assert status == 200, path
        assert dangerous_markup(html) == [], path
        if "/c/" in path:
            bodies = Markup(html).bodies
            shown = {label: bodies[ids[label]] for label in LABELS if ids[label] in bodies}
            assert len(shown) >= min(len(LABELS), 50)
            for label, body in shown.items():
                expected = shown_text(dict(CORPUS)[label])
                assert (body["text"], body["children"]) == (expected, []), label


async def test_display_names_stay_text_in_every_place_they_are_shown(make_user, make_operator):
    bob = await make_user("bob")
    senders = []
    for n, (label, payload) in enumerate(NAME_CORPUS):
        user = await make_user(f"evil{n}", display_name=payload)
        r = await user.post("/conversations", {"with": "bob"}, htmx=False)
        assert r.status_code == 303, label
        cid = int(r.headers["Location"].rsplit("/", 1)[1])
        r = await user.post(f"/c/{cid}/messages", {"body": f"hello from {n}"})
        assert r.status_code == 201
        assert dangerous_markup(await r.get_data(as_text=True), hx_partials=2) == [], label
        senders.append((label, payload, cid, user))
        # the person's own pages show their name too (sidebar, welcome line)
        status, html = await user.page("/")
        assert dangerous_markup(html) == [], label
        assert f"Welcome, {one_line(payload)}" in Markup(html).text, label

    status, html = await bob.page("/")
    assert dangerous_markup(html) == []
    titles = Markup(html).text
    for label, payload, _cid, _user in senders:
        assert one_line(payload) in titles, label
    for label, payload, cid, _user in senders:
        status, html = await bob.page(f"/c/{cid}")
        assert status == 200 and dangerous_markup(html) == [], label
        page = Markup(html)
        name = one_line(payload)
        assert page.attributes("textarea", name_="body")[0]["placeholder"] == f"Message {name}"
        assert f"{name} · Kehai" in page.text, label  # the <title>
    op = await make_operator("olga")
    status, html = await op.page("/dashboard")
    assert status == 200 and dangerous_markup(html) == []
    for label, payload, _cid, _user in senders:
        assert one_line(payload) in Markup(html).text, label


async def test_group_titles_stay_text_in_the_list_the_header_and_the_title(make_user):
    alice = await make_user("alice")
    bob = await make_user("bob")
    rooms = []
    for label, payload in TITLE_CORPUS:
        r = await alice.post("/conversations", {"title": payload, "members": "bob"}, htmx=False)
        assert r.status_code == 303, label
        rooms.append((label, payload, int(r.headers["Location"].rsplit("/", 1)[1])))
    status, html = await bob.page("/")
    assert dangerous_markup(html) == []
    for label, payload, cid in rooms:
        status, html = await bob.page(f"/c/{cid}")
        assert status == 200 and dangerous_markup(html) == [], label
        page = Markup(html)
        assert page.attributes("textarea", name_="body")[0]["placeholder"] == \
            f"Message {one_line(payload)}", label
        assert f"{one_line(payload)} · Kehai" in page.text, label


async def test_input_echoed_back_in_forms_errors_and_search_stays_text(app, make_user,
                                                                       make_operator):
    alice = await make_user("alice")
    op = await make_operator("olga")
    anon = app.test_client()
    for label, payload in CORPUS:
        # An unknown member or partner: the error repeats the name.
        r = await alice.post("/conversations", {"title": "t", "members": payload}, htmx=False)
        assert r.status_code == 422, label
        assert dangerous_markup(await r.get_data(as_text=True)) == [], label
        r = await alice.post("/conversations", {"with": payload}, htmx=False)
        assert r.status_code == 422, label
        assert dangerous_markup(await r.get_data(as_text=True)) == [], label
        # The login form keeps ?next= in a hidden field; registration keeps what was typed.
        r = await anon.get("/login", query_string={"next": payload})
        html = await r.get_data(as_text=True)
        assert dangerous_markup(html) == [], label
        assert Markup(html).attributes("input", name_="next")[0]["value"] == _lf(payload), label
        r = await anon.post("/register", form={"username": "someone", "display_name": payload,
                                               "password": "short", "csrf_token": csrf_of(html)})
        assert r.status_code == 422 and dangerous_markup(await r.get_data(as_text=True)) == []
        # The operators' search box.
        status, html = await op.page("/dashboard", query_string={"q": payload})
        assert status == 200 and dangerous_markup(html) == [], label
        assert Markup(html).attributes("input", name_="q")[0]["value"] == _lf(payload.strip()[:64])


# --------------------------------------------------------------------------------------------
# The stream: one event per message, nothing smuggled, the stream lives on
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stream_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("xss") / "srv",
                    tuning={"message_limit": [10_000, 10]}).start()
    yield server
    server.stop()


async def test_every_payload_is_one_well_formed_event_and_the_stream_stays_open(
        stream_server, raw_stream, listen):
    alice = Person(stream_server.url, "alice")
    bob = Person(stream_server.url, "bob")
    mal = Person(stream_server.url, "mal", display_name=dict(CORPUS)["hx-partial-breakout"])
    dm = alice.start_direct("bob")
    room = mal.start_group("<b>room</b>", ["bob"])
    raw = await raw_stream(bob)
    parsed = await listen(bob)  # a second tab, read by httpx-sse
    await raw.first()
    await parsed.wait_for(lambda e: True)

    sent: dict[str, str] = {}
    for label, payload in CORPUS:
        r = alice.send(dm, payload)
        assert r.status_code == 201, label
        sent[_message_id(r.text)] = payload
    assert mal.post(f"/c/{room}/typing", {"body": "x"}).status_code == 204
    assert alice.send(dm, "still alive").status_code == 201
    await raw.wait_text("still alive")
    await parsed.wait_text("still alive")
    typing = await raw.wait_for(lambda f: f.kind == "typing-start")

    assert b"\r" not in raw.raw, "the stream must use LF line endings only"
    for frame in raw.frames:  # pings are comment-only frames; every other one is an event
        assert frame.event == "" and set(frame.names) <= {"id", "data", "retry"}, frame.fields
        assert frame.names.count("id") == 1 or frame.names == [], frame.fields
    messages = [f for f in raw.events if f.kind == "new-message"]
    by_id = {}
    for frame in messages:
        ids = set(MESSAGE_ID.findall(frame.data))
        assert len(ids) == 1 and frame.data.count('data-event="new-message"') == 1, frame.data
        by_id.setdefault(ids.pop(), []).append(frame)
    assert set(sent) <= set(by_id)
    for mid, payload in sent.items():
        assert len(by_id[mid]) == 1, f"message {mid} came {len(by_id[mid])} times"
        frame = by_id[mid][0]
        assert dangerous_markup(frame.data, hx_partials=2) == [], payload
        body = Markup(frame.data).bodies[mid]
        assert (body["text"], body["children"]) == (shown_text(payload), []), payload
    ids = [int(f.id.rsplit("-", 1)[1]) for f in raw.events]
    assert ids == sorted(set(ids)), "event ids must only grow"
    # The typist's hostile name is text inside the indicator.
    assert dangerous_markup(typing.data, hx_partials=2) == []
    assert f"{one_line(dict(CORPUS)['hx-partial-breakout'])} is typing" in Markup(typing.data).text
    # httpx-sse (a spec-exact client) sees the same: no close, no extra events, still open.
    assert [e.event for e in parsed.events if e.event not in ("", "message")] == []
    assert not raw.ended.is_set() and not parsed.ended.is_set()
    got = {MESSAGE_ID.search(e.data).group(1) for e in parsed.events
           if 'data-event="new-message"' in e.data}
    assert set(sent) <= got
    for p in (alice, bob, mal):
        p.close()


# --------------------------------------------------------------------------------------------
# A real browser: nothing runs, nothing breaks
# --------------------------------------------------------------------------------------------

GUARD = "window.__xss = 0;"
SCAN = """() => {
  const all = [...document.querySelectorAll('*')];
  return {
    xss: window.__xss,
    marker: window.__kehaiMarker || null,
    handlers: all.flatMap((e) => [...e.attributes].filter((a) => a.name.startsWith('on'))
                                  .map((a) => `${e.tagName}[${a.name}]`)),
    foreign: [...document.querySelectorAll(
      'script:not([src]), iframe, object, embed, base, svg, math, img, '
      + 'template:not(#outbox-item):not(#edit-form):not(#room-gone):not(#unread-divider)'
      + ':not([data-unread-counts]), style, '
      + 'noscript, meta[http-equiv], hx-partial, [hx-swap-oob], [hx-trigger*=load], '
      + '[hx-get*=logout], [hx-post*=logout], a[href^="javascript"]')].map((e) => e.outerHTML),
    me: document.body.dataset.me,
    messages: [...document.querySelectorAll('#messages [data-message-id]')].map((m) => ({
      id: m.dataset.messageId,
      author: m.querySelector('.message-author').textContent,
      text: m.querySelector('.message-body').textContent,
      children: m.querySelector('.message-body').childElementCount,
    })),
    titles: [...document.querySelectorAll('.conv-title')].map((e) => e.textContent),
    h1: document.querySelector('main h1') && document.querySelector('main h1').textContent,
    title: document.title,
    typing: document.querySelector('#typing') && document.querySelector('#typing').textContent,
  };
}"""


def _people(live: Any) -> tuple[Person, Person, list[tuple[str, str, Person]]]:
    alice, bob = live.person("alice"), live.person("bob")

    def make(n_item: tuple[int, tuple[str, str]]) -> tuple[str, str, Person]:
        n, (label, payload) = n_item
        return label, payload, live.person(f"evil{n}", display_name=payload)

    with ThreadPoolExecutor(8) as pool:
        evil = list(pool.map(make, enumerate(NAME_CORPUS)))
        list(pool.map(lambda e: e[2].start_direct("bob"), evil))
    return alice, bob, evil


def _check(page: Any, expected: dict[str, tuple[str, str]], dialogs: list[str]) -> dict:
    seen = page.evaluate(SCAN)
    assert seen["xss"] == 0 and dialogs == [], (seen["xss"], dialogs)
    assert seen["handlers"] == [] and seen["foreign"] == [], (seen["handlers"], seen["foreign"])
    assert seen["me"] == "bob", "signed out or replaced by an injected swap"
    shown = {m["id"]: m for m in seen["messages"]}
    for mid, (author, text) in expected.items():
        assert mid in shown, f"message {mid} is missing"
        m = shown[mid]
        assert (m["author"], m["text"], m["children"]) == (author, text, 0), mid
    assert len(seen["messages"]) == len(shown), "a message is shown twice"
    return seen


def test_a_page_full_of_payloads_runs_nothing_and_keeps_working(live, page_for, problems):
    from playwright.sync_api import expect

    from tests.browser.helpers import COMPOSER, messages_by, send_from, stream_connected

    alice, bob, evil = _people(live)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: alice.start_group(t[1], ["bob"]), TITLE_CORPUS))
    room_title = dict(CORPUS)["hx-partial-breakout"]
    room = alice.start_group(room_title, ["bob", *[p.username for _l, _p, p in evil]])

    page = page_for(bob)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.context.add_init_script(GUARD)
    page.goto(f"/c/{room}")
    stream_connected(page)
    page.evaluate("window.__kehaiMarker = 'same document'")

    # Live: every body (each sender's name a payload too) and a typing line of two payloads.
    expected: dict[str, tuple[str, str]] = {}
    for n, (label, payload) in enumerate(CORPUS):
        _l, name, sender = evil[n % len(evil)]
        r = sender.send(room, payload)
        assert r.status_code == 201, label
        expected[_message_id(r.text)] = (one_line(name), shown_text(payload))
    expect(page.locator("#messages [data-message-id]")).to_have_count(len(expected))
    typists = [evil[0], evil[1]]  # (typing expires after 1.5 s here: check it right away)
    for _l, _name, sender in typists:
        assert sender.post(f"/c/{room}/typing", {"body": "x"}).status_code == 204
    expect(page.locator("#typing")).to_have_text(
        f"{one_line(typists[0][1])} and {one_line(typists[1][1])} are typing")
    seen = _check(page, expected, dialogs)
    assert seen["marker"] == "same document", "the page navigated away"
    assert seen["h1"] == one_line(room_title) and one_line(room_title) in seen["title"]

    # Still working: a later message arrives live, and bob's own is sent and shown.
    r = alice.send(room, "after the storm")
    expected[_message_id(r.text)] = ("Alice", "after the storm")
    expect(messages_by(page, "alice")).to_have_count(1)
    send_from(page, "bob is fine")
    expect(messages_by(page, "bob").locator(".message-body")).to_have_text("bob is fine")
    expect(page.locator(COMPOSER)).to_have_value("")

    # After a reload: the same, from the stored page (the oldest through "load older", the
    # history fragment); names and titles in the sidebar too.
    page.reload()
    stream_connected(page)
    total = len(expected) + 1
    expect(page.locator("#messages [data-message-id]")).to_have_count(min(total, 50))
    if total > 50:
        page.click("#messages .load-older")
    expect(page.locator("#messages [data-message-id]")).to_have_count(total)
    seen = _check(page, expected, dialogs)
    titles = set(seen["titles"])
    for label, payload in TITLE_CORPUS:
        assert one_line(payload) in titles, f"group title {label}"
    for label, payload, _p in evil:
        assert one_line(payload) in titles, f"display name {label}"

    # A direct chat's header carries the other person's name: open a few of the worst.
    for label in ("break-double-quote", "script", "hx-get-logout"):
        name = dict(NAME_CORPUS)[label]
        sender = next(p for lbl, _n, p in evil if lbl == label)
        page.goto(f"/c/{sender.start_direct('bob')}")
        stream_connected(page)
        seen = _check(page, {}, dialogs)
        assert seen["h1"] == one_line(name) and page.locator(COMPOSER).get_attribute(
            "placeholder") == f"Message {one_line(name)}"
    assert page.evaluate("window.__xss") == 0 and dialogs == []
    for p in (alice, bob, *[e[2] for e in evil]):
        p.close()


def test_payloads_are_all_distinct_and_cover_the_brief():
    assert len(set(PAYLOADS)) == len(PAYLOADS) >= 30
    text = "\n".join(PAYLOADS)
    for needle in ("<script>", "onerror=", "javascript:", "<svg", "<math", "srcdoc",
                   '<img src="x"', "</hx-partial><hx-partial", "hx-get=/logout hx-trigger=load",
                   "\u202e", "\u200b", "＜script＞", "\nevent: close\ndata: y\n\nid: 9",
                   "\r\ndata:"):
        assert needle in text, needle
