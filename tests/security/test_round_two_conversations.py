"""Attack suite, round two: conversations, names, message ids and numbers in URLs.

- Nothing limited creating conversations: a hundred groups with a victim in them, made in
  half a second, pushed her real chats off her list (it shows the newest 100, with no way on).
- Display names could carry invisible format characters, and two members of a group could
  carry the same name: the group page must tell them apart by @username.
- A huge negative `before` was a 500; every integer a client sends is bounded both ways.
- A message's client_id was unique per author, not per conversation: reusing one in another
  conversation answered 200 with the first conversation's message and dropped the new one.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from app.db import run_db
from app.models import User
from tests.security.helpers import Markup, csrf_of

CONVERSATION_ITEM = re.compile(r'id="conv-(\d+)"')
MESSAGE_ID = re.compile(r'data-message-id="(\d+)"')
PAGING_PARAMS = {"page", "before", "after", "cursor", "offset", "older"}


@pytest.fixture
def config(config):
    """Room for the flood below: fifty-odd accounts registered in a few seconds."""
    return dataclasses.replace(config, register_limit=(10_000, 60.0))


def cid_of(r) -> int:
    assert r.status_code == 303, r.status_code
    return int(r.headers["Location"].rsplit("/", 1)[1])


# --------------------------------------------------------------------------------------------
# 5. Flooding someone's conversation list
# --------------------------------------------------------------------------------------------


async def test_creating_conversations_in_a_burst_gets_429_with_retry_after(make_user):
    mallory = await make_user("mallory")
    await make_user("alice")
    answers = []
    for n in range(101):
        r = await mallory.post("/conversations", {"title": f"spam {n}", "members": "alice"},
                               htmx=False)
        answers.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1
            break
    assert 429 in answers, f"101 conversations in a burst were all created: {set(answers)}"
    assert set(answers) <= {303, 429}


def _older_links(html: str) -> list[str]:
    """Links (href or hx-get) from the list to more of it: `/` or `/sidebar` with a page param."""
    links = []
    for _tag, attrs in Markup(html).tags:
        for name in ("href", "hx-get"):
            url = urlsplit(attrs.get(name) or "")
            if url.path in ("/", "/sidebar") and PAGING_PARAMS & set(parse_qs(url.query)):
                links.append(attrs[name] or "")
    return links


async def test_a_flood_of_groups_never_hides_a_real_chat_from_the_victims_list(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    real = cid_of(await bob.post("/conversations", {"with": "alice"}, htmx=False))
    assert (await bob.post(f"/c/{real}/messages", {"body": "the real chat"})).status_code == 201
    for n in range(51):  # 102 groups from 51 accounts: two each, under any per-user limit
        attacker = await make_user(f"spammer{n}")
        for k in range(2):
            r = await attacker.post("/conversations",
                                    {"title": f"spam {n}.{k}", "members": "alice"}, htmx=False)
            assert r.status_code == 303, r.status_code
    _status, page = await alice.page("/")
    listed = set(CONVERSATION_ITEM.findall(page))
    assert str(real) not in listed, "the flood did not push the real chat off: proves nothing"
    seen, queue = set(), _older_links(page)
    while queue and str(real) not in listed and len(seen) < 10:
        link = queue.pop(0)
        if link in seen:
            continue
        seen.add(link)
        r = await alice.client.get(link, headers={"HX-Request": "true"})
        assert r.status_code == 200, (link, r.status_code)
        more = await r.get_data(as_text=True)
        listed |= set(CONVERSATION_ITEM.findall(more))
        queue += _older_links(more)
    assert str(real) in listed, (
        f"alice cannot reach her real chat from her list (paging links followed: {sorted(seen)})")


# --------------------------------------------------------------------------------------------
# 8. Impersonation by display name
# --------------------------------------------------------------------------------------------

FORMAT_CHARACTERS = {
    "zero width space": "\u200b",
    "left-to-right mark": "\u200e",
    "right-to-left mark": "\u200f",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
}


@pytest.mark.parametrize("char", FORMAT_CHARACTERS.values(), ids=FORMAT_CHARACTERS.keys())
async def test_a_display_name_with_an_invisible_format_character_is_refused_with_a_message(
        app, char):
    client = app.test_client()
    page = await (await client.get("/register")).get_data(as_text=True)
    r = await client.post("/register", form={
        "username": "mallory", "display_name": f"Ali{char}ce", "password": "correct horse battery",
        "csrf_token": csrf_of(page)})
    assert r.status_code == 422, f"a display name with U+{ord(char):04X} was accepted"
    text = await r.get_data(as_text=True)
    assert 'id="display-name-error"' in text, "no message next to the display name"
    assert await run_db(User.by_username, "mallory") is None


LOOKALIKES = {
    "the same name": ("Alice Sato", "Alice Sato"),
    "the same name in capitals": ("Alice Sato", "ALICE SATO"),
    "the same name in full-width letters": ("Alice", "Ａｌｉｃｅ"),
}


@pytest.mark.parametrize("names", LOOKALIKES.values(), ids=LOOKALIKES.keys())
async def test_group_members_with_lookalike_names_are_told_apart_by_username(make_user, names):
    real, fake = names
    await make_user("alice", real)
    await make_user("mallory", fake)
    carol = await make_user("carol")
    group = cid_of(await carol.post("/conversations", {"title": "team",
                                                       "members": "alice,mallory"}, htmx=False))
    _status, page = await carol.page(f"/c/{group}")
    members = re.search(r'<ul class="member-list".*?</ul>', page, re.S)
    assert members, "no member list on the group page"
    shown = Markup(members.group(0))
    text_and_titles = shown.text + " ".join(a.get("title") or "" for _t, a in shown.tags)
    for username in ("alice", "mallory"):
        assert f"@{username}" in text_and_titles, (
            f"{real!r} and {fake!r} look alike, but the member list does not show @{username}")


# --------------------------------------------------------------------------------------------
# 10. Integers from the client are bounded both ways
# --------------------------------------------------------------------------------------------

HUGE_NUMBERS = ["-99999999999999999999", "99999999999999999999", "-9223372036854775809",
                "9223372036854775808", "-9223372036854775808", "-1", "0"]


@pytest.fixture
async def numbers_scene(make_user, make_operator):
    alice, bob = await make_user("alice"), await make_user("bob")
    dm = cid_of(await alice.post("/conversations", {"with": "bob"}, htmx=False))
    r = await bob.post(f"/c/{dm}/messages", {"body": "hello"})
    assert r.status_code == 201
    return alice, await make_operator("olga"), dm


@pytest.mark.parametrize("number", HUGE_NUMBERS)
@pytest.mark.parametrize("route", [
    "/c/{dm}/messages?before={n}", "/c/{dm}/messages?before={n} (htmx)", "/dashboard?page={n}",
    "/sidebar?active={n}", "/sidebar?active={n} (htmx)", "/?page={n}", "/?before={n}",
    "/sidebar?page={n} (htmx)", "/sidebar?before={n} (htmx)", "/c/{dm}?before={n}",
])
async def test_a_huge_number_in_a_query_is_never_a_server_error(numbers_scene, route, number):
    alice, operator, dm = numbers_scene
    path, _, htmx = route.partition(" ")
    user = operator if path.startswith("/dashboard") else alice
    r = await user.client.get(path.format(dm=dm, n=number),
                              headers={"HX-Request": "true"} if htmx else {})
    assert r.status_code < 500, f"{route} with {number}: {r.status_code}"
    assert r.status_code in (200, 400, 404, 422), r.status_code


@pytest.mark.parametrize("number", [*HUGE_NUMBERS, "1" * 18, "9" * 18, "-" + "9" * 17])
async def test_a_huge_read_mark_is_refused_not_a_server_error(numbers_scene, number):
    alice, _operator, dm = numbers_scene
    r = await alice.post(f"/c/{dm}/read", {"up_to": number})
    assert r.status_code in (204, 400, 404, 422), f"up_to={number}: {r.status_code}"


# --------------------------------------------------------------------------------------------
# 11. client_id belongs to one conversation
# --------------------------------------------------------------------------------------------


async def test_a_client_id_reused_in_another_conversation_stores_the_new_message_there(
        make_user):
    alice = await make_user("alice")
    await make_user("bob")
    await make_user("carol")
    with_bob = cid_of(await alice.post("/conversations", {"with": "bob"}, htmx=False))
    with_carol = cid_of(await alice.post("/conversations", {"with": "carol"}, htmx=False))
    first = await alice.post(f"/c/{with_bob}/messages", {"body": "for bob", "client_id": "tab1-7"})
    assert first.status_code == 201
    second = await alice.post(f"/c/{with_carol}/messages",
                              {"body": "for carol", "client_id": "tab1-7"})
    answer = await second.get_data(as_text=True)
    assert "for bob" not in answer, "carol's conversation answered with bob's message"
    assert second.status_code == 201, f"the message for carol was not stored: {second.status_code}"
    # (the sidebar previews every conversation's last message: look at the history only)
    _status, page = await alice.page(f"/c/{with_carol}/messages")
    assert "for carol" in page and "for bob" not in page
    _status, page = await alice.page(f"/c/{with_bob}/messages")
    assert page.count("for bob") >= 1 and "for carol" not in page
    # And within one conversation the id still makes a resend idempotent.
    again = await alice.post(f"/c/{with_carol}/messages",
                             {"body": "for carol", "client_id": "tab1-7"})
    assert again.status_code == 200
    _status, page = await alice.page(f"/c/{with_carol}/messages")
    assert len(MESSAGE_ID.findall(page)) == 1
