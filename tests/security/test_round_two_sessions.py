"""Attack suite, round two: the session cookie and the server-side session.

- Pages (Werkzeug) took the first of two `kehai_session` cookies and /sse (http.cookies) the
  last, and a malformed cookie earlier in the header made /sse see none: the page and its
  stream could belong to different people, or the stream could be refused while the page works.
- A session deleted on the server (not through logout) kept its open streams for their whole
  half hour: open streams re-check their session every `session_check_s`.
- The cookie was re-issued on every response, /healthz and /metrics included, and a session
  row lived forever: sessions have an absolute lifetime on the server.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.db import run_db
from app.models import Session
from tests.security.helpers import first_sse_frame
from tests.support import Person, Server

COOKIE = "kehai_session"
DATA_ME = re.compile(r'<body data-me="([^"]*)"')


# --------------------------------------------------------------------------------------------
# 9. The page and its stream read the same cookie
# --------------------------------------------------------------------------------------------


@pytest.fixture
def cast(server: Server):
    alice, bob, carol = (Person(server.url, n) for n in ("alice", "bob", "carol"))
    rooms = {"alice": carol.start_direct("alice"), "bob": carol.start_direct("bob")}
    yield alice, bob, carol, rooms
    for p in (alice, bob, carol):
        p.close()


def page_user(base_url: str, cookie_header: str) -> str | None:
    """Who GET / shows as signed in with this Cookie header (None: sent to the login page)."""
    r = httpx.get(base_url + "/", headers={"Cookie": cookie_header})
    if r.status_code == 302:
        return None
    assert r.status_code == 200, r.status_code
    found = DATA_ME.search(r.text)
    return (found.group(1) or None) if found else None


async def stream_user(base_url: str, cookie_header: str, carol: Person, rooms: dict) -> str | None:
    """Whose events GET /sse carries with this Cookie header (None: refused).

    Once the stream is open, carol writes to alice and to bob: only one of them arrives.
    """
    marks = {name: f"for-{name}-{secrets.token_hex(4)}" for name in rooms}

    async def read() -> str | None:
        async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(10, read=30)) as c:
            async with c.stream("GET", "/sse", headers={"Cookie": cookie_header,
                                                        "Accept": "text/event-stream"}) as r:
                if r.status_code == 401:
                    return None
                assert r.status_code == 200, r.status_code
                seen, sent = b"", False
                async for chunk in r.aiter_raw():
                    seen += chunk
                    if not sent and b"\n\n" in seen:
                        for name, room in rooms.items():
                            assert carol.send(room, marks[name]).status_code == 201
                        sent = True
                    for name, mark in marks.items():
                        if mark.encode() in seen:
                            return name
        raise AssertionError("the stream ended before either message arrived")

    return await asyncio.wait_for(read(), 20)


@pytest.mark.parametrize("order", ["alice first", "bob first"])
async def test_with_two_session_cookies_the_stream_belongs_to_whoever_the_page_shows(
        cast, order):
    alice, bob, carol, rooms = cast
    first, second = (alice, bob) if order == "alice first" else (bob, alice)
    header = f"{COOKIE}={first.cookies()[COOKIE]}; {COOKIE}={second.cookies()[COOKIE]}"
    on_page = page_user(alice.base_url, header)
    on_stream = await stream_user(alice.base_url, header, carol, rooms)
    assert on_page is not None, "two valid cookies signed nobody in"
    assert on_stream == on_page, f"the page shows {on_page} but the stream carries {on_stream}'s events"


@pytest.mark.parametrize("junk", ['junk="unterminated', "spaced=a b", "bad@name=x",
                                  "slash=a\\"])
async def test_a_malformed_cookie_before_the_session_makes_page_and_stream_agree(cast, junk):
    alice, _bob, carol, rooms = cast
    header = f"{junk}; {COOKIE}={alice.cookies()[COOKIE]}"
    on_page = page_user(alice.base_url, header)
    on_stream = await stream_user(alice.base_url, header, carol, rooms)
    assert on_stream == on_page, (
        f"with {junk!r} first, the page shows {on_page!r} and the stream carries {on_stream!r}")


# --------------------------------------------------------------------------------------------
# 12b. A session deleted on the server closes its open streams
# --------------------------------------------------------------------------------------------

CHECK_S = 0.5


@pytest.fixture
def checked_server(tmp_path: Path):
    """A server whose database file the test knows, re-checking sessions every CHECK_S."""
    database = tmp_path / "kehai.sqlite3"
    srv = Server(tmp_path / "srv", tuning={"session_check_s": CHECK_S},
                 env={"KEHAI_DATABASE_URL": f"sqlite:///{database}"}).start()
    yield srv, database
    srv.stop()


async def test_a_session_deleted_in_the_database_closes_its_open_stream_soon(
        checked_server, raw_stream):
    server, database = checked_server
    alice = Person(server.url, "alice")
    stream = await raw_stream(alice)
    await stream.first(within=15)
    with sqlite3.connect(database) as db:  # an admin (or another tool) ends every session
        assert db.execute("DELETE FROM session").rowcount >= 1
    began = time.monotonic()
    try:
        await asyncio.wait_for(stream.ended.wait(), 6 * CHECK_S + 5)
    except TimeoutError:
        raise AssertionError(
            f"the stream of a deleted session was still open after {time.monotonic() - began:.1f}"
            f" s (session_check_s = {CHECK_S})") from None
    again = httpx.get(server.url + "/sse", cookies=alice.cookies(), timeout=5)
    assert again.status_code == 401
    alice.close()


# --------------------------------------------------------------------------------------------
# 12c. No cookie on every response; sessions expire on the server
# --------------------------------------------------------------------------------------------


def set_cookies(r) -> list[str]:
    return [v for k, v in r.headers.items() if k.lower() == "set-cookie"]


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
async def test_health_and_metrics_responses_set_no_cookie(app, make_user, path):
    anonymous = app.test_client()
    r = await anonymous.get(path)
    assert r.status_code == 200 and not set_cookies(r), f"anonymous {path}: {set_cookies(r)}"
    alice = await make_user("alice")
    r = await alice.client.get(path)
    assert r.status_code == 200 and not set_cookies(r), f"signed-in {path}: {set_cookies(r)}"


async def test_a_session_older_than_the_absolute_lifetime_is_refused(app, make_user):
    alice = await make_user("alice")
    assert (await alice.client.get("/")).status_code == 200
    long_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=400)  # longer than any absolute lifetime
    await run_db(lambda: Session.update(created=long_ago).execute())
    r = await alice.client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"], (
        f"a 400-day-old session still opens pages: {r.status_code}")
    status, _headers, _body = await first_sse_frame(alice.client)
    assert status == 401, f"a 400-day-old session still opens a stream: {status}"
