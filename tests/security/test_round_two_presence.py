"""Attack suite, round two: presence.

- Usernames may start with a digit; a presence fragment that aims at `[data-presence-of=0day]`
  is an invalid CSS selector, the swap throws and the page's stream reconnects (DESIGN.md,
  "Known traps"). Every selector the stream sends must quote its value.
- `POST /presence` is a state change like any other: hammering it gets 429.
- "Show my online status" off means contacts learn nothing of the person's activity: no
  event at each connect/away/leave, and no "Last seen" on the direct chat page.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from tests.browser.helpers import messages_by, send_from, stream_connected
from tests.security.conftest import create_operator
from tests.security.helpers import Frame, Markup
from tests.support import FAST, Person, Server

PRESENCE_KINDS = ("user-online", "user-away", "user-offline")
# Usernames the register form accepts (^[a-z0-9_]{2,32}$) that are not CSS identifiers, and
# one made of every allowed character.
ODD_NAMES = ["0123", "0day", "__", "_0", "9_z", "6789_ab", "abcdefghijklmnopqrstuvwxyz012345"]
# [name=value] / [name~=value] ... inside a selector; the value must be a quoted string.
ATTRIBUTE_TEST = re.compile(r"\[\s*([^\]\s~|^$*=]+)\s*([~|^$*]?=)\s*([^\]]*?)\s*\]")
QUOTED = re.compile(r"""'[^'\\]*'|"[^"\\]*\"""")


def unquoted_selectors(html: str) -> list[str]:
    """Every hx-target in a fragment whose attribute selector leaves its value unquoted."""
    bad = []
    for _tag, attrs in Markup(html).tags:
        target = attrs.get("hx-target") or ""
        for _name, _op, value in ATTRIBUTE_TEST.findall(target):
            if not QUOTED.fullmatch(value):
                bad.append(target)
    return bad


def about(frame: Frame, username: str) -> bool:
    """A presence frame that tells something about `username` (its dots or status line)."""
    return frame.kind in PRESENCE_KINDS and re.search(
        rf"""(?:presence|status-text)-of=["']?{re.escape(username)}["'\]]""", frame.data
    ) is not None


# --------------------------------------------------------------------------------------------
# 1a. Selectors built from usernames are quoted
# --------------------------------------------------------------------------------------------


async def test_presence_fragments_aim_at_quoted_selectors_whatever_the_username(
        server: Server, raw_stream):
    watcher = Person(server.url, "watcher")
    people = [Person(server.url, name) for name in ODD_NAMES]
    watcher.start_group("odd names", ODD_NAMES)
    operator = create_operator(server, "olga")
    contact, dashboard = await raw_stream(watcher), await raw_stream(operator)
    for person in people:
        stream = await raw_stream(person)
        await stream.first(within=15)
        assert person.post("/presence", {"state": "away"}).status_code == 204
    for person in people:  # every user's dots and dashboard row were sent at least once
        await contact.wait_for(lambda f, n=person.username: about(f, n), within=20)
        await dashboard.wait_for(
            lambda f, n=person.username: f.kind in PRESENCE_KINDS
            and re.search(rf"""data-user=["']?{n}["'\]]""", f.data), within=20)
    bad = {target for stream in (contact, dashboard) for frame in stream.events
           for target in unquoted_selectors(frame.data)}
    assert not bad, f"selectors with an unquoted value (invalid for names like 0day): {bad}"
    for person in (watcher, operator, *people):
        person.close()


# --------------------------------------------------------------------------------------------
# 1b. POST /presence is rate-limited
# --------------------------------------------------------------------------------------------


async def test_hammering_presence_with_state_changes_gets_429_with_retry_after(make_user):
    alice = await make_user("alice")
    answers = []
    began = time.monotonic()
    for n in range(60):
        r = await alice.post("/presence", {"state": "away" if n % 2 == 0 else "active"})
        answers.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1
            break
    assert time.monotonic() - began < 10, "the burst took too long to prove anything"
    assert 429 in answers, f"60 presence changes in a burst were all accepted: {set(answers)}"
    assert set(answers) <= {204, 429}


# --------------------------------------------------------------------------------------------
# 1c. In the browser: a user called "0123" changes status 20 times
# --------------------------------------------------------------------------------------------

WAIT_MS = 20_000


def _shows(page: Any, what: str, selector: str, status: str, check: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(check, arg=[selector, status], timeout=WAIT_MS)
    except PlaywrightTimeout:
        now = page.locator(selector).evaluate_all("(els) => els.map((e) => e.dataset.status)")
        raise AssertionError(f"{what} on {page.url} never showed {status!r} (now {now}; "
                             f"stream connections: {page.evaluate('__kehaiSse.connections')})"
                             ) from None


def every_dot(page: Any, user: str, status: str) -> None:
    """Wait until every dot of `user` on the page (at least one) shows `status`."""
    _shows(page, f"{user}'s dots", f'[data-presence-of="{user}"]', status, """([sel, status]) => {
      const d = [...document.querySelectorAll(sel)];
      return d.length > 0 && d.every((e) => e.dataset.status === status);
    }""")


def row_status(page: Any, user: str, status: str) -> None:
    """Wait until the dashboard row of `user` shows `status`."""
    _shows(page, f"{user}'s dashboard row", f'tr[data-user="{user}"]', status, """([sel, status]) => {
      const row = document.querySelector(sel);
      return row !== null && row.dataset.status === status;
    }""")


def report(person: Person, state: str) -> None:
    """POST /presence like a polite client: a 429 is waited out (Retry-After), then resent."""
    deadline = time.monotonic() + 30
    while True:
        r = person.post("/presence", {"state": state})
        if r.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(int(r.headers.get("Retry-After", "1")))
    assert r.status_code == 204, (r.status_code, r.text)


def test_a_user_named_with_digits_keeps_every_status_update_on_contact_and_dashboard_pages(
        live: Any, page_for: Any) -> None:
    from playwright.sync_api import expect

    zero, bob = live.person("0123", display_name="Zero"), live.person("bob")
    operator = create_operator(live.server, "olga")
    dm = bob.start_direct("0123")
    page_b = page_for(bob)
    page_b.goto(f"/c/{dm}")
    stream_connected(page_b)
    page_o = page_for(operator)
    page_o.goto("/dashboard")
    stream_connected(page_o)
    every_dot(page_b, "0123", "offline")
    row_status(page_o, "0123", "offline")

    page_z = page_for(zero)
    page_z.goto(f"/c/{dm}")
    stream_connected(page_z)
    every_dot(page_b, "0123", "online")
    row_status(page_o, "0123", "online")
    # The tab re-reports "active" once its stream is live (after up to 300 ms): let that land
    # first, or it could overtake the first "away" below (readiness, not a timing claim).
    page_z.wait_for_timeout(1500)
    for n in range(20):
        state = "away" if n % 2 == 0 else "active"
        report(zero, state)
        shown = "away" if state == "away" else "online"
        every_dot(page_b, "0123", shown)
        row_status(page_o, "0123", shown)
    every_dot(page_b, "0123", "online")  # the last state: active
    row_status(page_o, "0123", "online")
    for page in (page_b, page_o):  # one stream each, never dropped by a failed swap
        assert page.evaluate("__kehaiSse.connections") == 1, "the stream reconnected"

    send_from(page_b, "still here after twenty changes")
    expect(messages_by(page_b, "bob").filter(has_text="still here after twenty changes")
           ).to_have_count(1, timeout=WAIT_MS)
    expect(messages_by(page_z, "bob").filter(has_text="still here after twenty changes")
           ).to_have_count(1, timeout=WAIT_MS)


# --------------------------------------------------------------------------------------------
# 2. Hidden status hides activity
# --------------------------------------------------------------------------------------------

GRACE_S = FAST["presence_grace_s"]


def hide_presence(person: Person) -> None:
    r = person.post("/settings", {"send_read_receipts": "on"}, htmx=False)  # no show_presence
    assert r.status_code == 303, r.text


async def live_a_little(person: Person, raw_stream) -> None:
    """Connect, go away, come back, leave, and let the offline grace pass."""
    stream = await raw_stream(person)
    await stream.first(within=15)
    for state in ("away", "active"):
        assert person.post("/presence", {"state": state}).status_code == 204
        await asyncio.sleep(0.5)  # longer than the announcer's batching
    await stream.close()
    await asyncio.sleep(GRACE_S + 0.5)


@pytest.fixture
def hidden_scene(server: Server):
    alice, bob, carol = (Person(server.url, n) for n in ("alice", "bob", "carol"))
    with_alice, with_carol = bob.start_direct("alice"), bob.start_direct("carol")
    yield alice, bob, carol, with_alice, with_carol
    for p in (alice, bob, carol):
        p.close()


async def test_a_hidden_user_connecting_going_away_and_leaving_tells_contacts_nothing(
        hidden_scene, raw_stream):
    alice, bob, _carol, with_alice, _with_carol = hidden_scene
    watching = await raw_stream(bob)
    await watching.first(within=15)
    hide_presence(alice)
    # The setting itself changing is the one thing contacts are told (alice looks offline).
    told = await watching.wait_for(lambda f: about(f, "alice"), within=15)
    assert "Last seen" not in told.data
    await live_a_little(alice, raw_stream)
    assert alice.send(with_alice, "sentinel after the activity").status_code == 201
    await watching.wait_text("sentinel after the activity", within=15)
    leaks = [f.data for f in watching.events if about(f, "alice")][1:]
    assert not leaks, f"bob was told about hidden alice's activity: {leaks}"


async def test_the_direct_chat_page_shows_no_last_seen_for_a_hidden_user(
        hidden_scene, raw_stream):
    alice, bob, carol, with_alice, with_carol = hidden_scene
    hide_presence(alice)
    await live_a_little(alice, raw_stream)
    await live_a_little(carol, raw_stream)  # the control: shown, so her last seen is stored
    deadline = time.monotonic() + 15
    # under a minute the last seen reads "Online just now" (templating.last_seen_phrase)
    while "just now" not in status_line(bob.http.get(f"/c/{with_carol}").text, "carol"):
        assert time.monotonic() < deadline, "carol's last seen never showed: proves nothing"
        await asyncio.sleep(0.25)
    line = status_line(bob.http.get(f"/c/{with_alice}").text, "alice")
    assert not any(w in line for w in ("Last seen", "ago", "just now")), \
        f"hidden alice's page says {line!r}"


def status_line(page: str, username: str) -> str:
    """The text of the chat header's status line for `username`."""
    found = re.search(rf"""data-status-text-of=["']?{username}["']?[^>]*>(.*?)</span>""", page,
                      re.S)
    assert found, f"no status line for {username}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()
