"""Limits and headers: too fast gets 429 with Retry-After, too big gets 413, and every response
carries the security headers. The limits here are the production values (docs/ARCHITECTURE.md), not the
test suite's relaxed ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

import httpx
import pytest

from app.config import Config
from app.db import run_db
from app.models import Message, User
from tests.security.helpers import csrf_of, first_sse_frame, frames_of
from tests.support import Person, Server

PASSWORD = "correct horse battery"
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config)}


def test_the_production_limits_are_the_designed_ones():
    assert DEFAULTS["message_limit"] == (20, 10.0)
    assert DEFAULTS["typing_limit"] == (1, 1.0)
    assert DEFAULTS["login_limit"] == (10, 180.0)
    assert DEFAULTS["max_streams_per_user"] == 10
    assert DEFAULTS["max_body_bytes"] == 64 * 1024


@pytest.fixture
def config(config):
    """The test suite relaxes some limits; these tests put the production values back."""
    return dataclasses.replace(config, **{k: DEFAULTS[k] for k in (
        "message_limit", "typing_limit", "login_limit", "login_address_limit",
        "login_name_limit", "stream_limit", "max_streams_per_user", "max_body_bytes")})


@pytest.fixture
async def chat(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await make_user("carol")
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)
    dm = int(r.headers["Location"].rsplit("/", 1)[1])
    r = await alice.post("/conversations", {"with": "carol"}, htmx=False)
    other = int(r.headers["Location"].rsplit("/", 1)[1])
    return alice, bob, dm, other


def retry_after(r) -> int:
    value = int(r.headers["Retry-After"])
    assert value >= 1
    return value


# --------------------------------------------------------------------------------------------
# 429 + Retry-After
# --------------------------------------------------------------------------------------------


async def test_the_21st_message_in_10_seconds_gets_429_and_stores_nothing_but_others_may_send(
        chat, config):
    alice, bob, dm, _other = chat
    limit, window = config.message_limit
    for n in range(limit):
        assert (await alice.post(f"/c/{dm}/messages", {"body": f"m{n}"})).status_code == 201
    r = await alice.post(f"/c/{dm}/messages", {"body": "one too many"})
    assert r.status_code == 429 and retry_after(r) <= window
    text = await r.get_data(as_text=True)
    assert 'hx-target="#flash"' in text and "too fast" in text
    assert await run_db(lambda: Message.select().where(Message.body == "one too many").count()) == 0
    # The limit is the sender's own: bob is not slowed down by alice.
    assert (await bob.post(f"/c/{dm}/messages", {"body": "hi"})).status_code == 201


async def test_typing_more_than_once_a_second_per_conversation_gets_429_but_stopping_never(
        chat):
    alice, _bob, dm, other = chat
    assert (await alice.post(f"/c/{dm}/typing", {"body": "a"})).status_code == 204
    r = await alice.post(f"/c/{dm}/typing", {"body": "ab"})
    assert r.status_code == 429 and retry_after(r) == 1
    assert (await alice.post(f"/c/{other}/typing", {"body": "a"})).status_code == 204
    assert (await alice.post(f"/c/{dm}/typing", {"body": "", "state": "stop"})).status_code == 204


async def _login(app, username: str, password: str, address: str, headers: dict | None = None):
    client = app.test_client()
    scope = {"client": (address, 40000)}
    page = await (await client.get("/login", scope_base=scope)).get_data(as_text=True)
    return await client.post("/login", scope_base=scope, headers=headers or {},
                             form={"username": username, "password": password,
                                   "csrf_token": csrf_of(page)})


async def test_guesses_for_one_name_from_many_addresses_stop_at_the_ceiling_but_not_the_owner(
        app, make_user, config):
    await make_user("alice")
    assert (await _login(app, "alice", PASSWORD, "10.0.9.9")).status_code == 303  # her home
    ceiling, window = config.login_name_limit
    for n in range(ceiling):
        r = await _login(app, "alice", "wrong password 1", f"10.0.{n // 250}.{n % 250 + 1}")
        assert r.status_code == 401
    r = await _login(app, "alice", PASSWORD, "10.0.9.1")  # even the right one, from elsewhere
    assert r.status_code == 429 and retry_after(r) <= window
    assert (await _login(app, "bob_is_free", "x", "10.0.9.1")).status_code == 401
    r = await _login(app, "alice", PASSWORD, "10.0.9.9")
    assert r.status_code == 303, "the owner was locked out of her own address by the ceiling"
    assert (await _login(app, "alice", "wrong password 1", "10.0.9.9")).status_code == 401


async def test_login_attempts_are_limited_per_address_whatever_the_name_or_forwarded_for(
        app, make_user, config):
    await make_user("alice")
    limit, _window = config.login_address_limit
    for n in range(limit):
        assert (await _login(app, f"name{n}", "wrong password 1", "10.9.9.9")).status_code == 401
    r = await _login(app, "alice", PASSWORD, "10.9.9.9",
                     headers={"X-Forwarded-For": "192.0.2.7", "X-Real-IP": "192.0.2.8"})
    assert r.status_code == 429 and retry_after(r) >= 1
    assert (await _login(app, "alice", PASSWORD, "10.9.9.10")).status_code == 303


async def test_guessing_the_current_password_from_a_signed_in_session_is_limited_too(
        chat, config):
    alice = chat[0]
    limit, window = config.login_limit
    for n in range(limit):
        r = await alice.post("/settings/password", {"current_password": f"guess {n}",
                                                    "new_password": "mine now 12345"})
        assert r.status_code == 422
    r = await alice.post("/settings/password", {"current_password": PASSWORD,
                                                "new_password": "mine now 12345"})
    assert r.status_code == 429 and retry_after(r) <= window
    user = await run_db(User.by_username, "alice")
    from app.accounts import verify_password

    assert await verify_password(user.password_hash, PASSWORD)


async def test_the_eleventh_open_stream_gets_429_and_a_closed_one_frees_a_place(chat, config):
    alice = chat[0]
    opened = []
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(config.max_streams_per_user):
            conn = await stack.enter_async_context(alice.client.request("/sse"))
            await conn.send_complete()
            await asyncio.wait_for(conn.receive(), 5)
            assert conn.status_code == 200
            opened.append(conn)
        status, headers, body = await first_sse_frame(alice.client)
        assert status == 429 and int(headers["retry-after"]) >= 1, body
        await opened.pop().disconnect()
        await asyncio.sleep(0.05)
        status, _headers, _body = await first_sse_frame(alice.client)
        assert status == 200
        for conn in opened:
            await conn.disconnect()


async def test_opening_streams_faster_than_the_new_stream_limit_gets_429(chat, config):
    alice = chat[0]
    limit, window = config.stream_limit
    for _ in range(limit):
        status, _h, _b = await first_sse_frame(alice.client)
        assert status == 200
    status, headers, _body = await first_sse_frame(alice.client)
    assert status == 429 and 1 <= int(headers["retry-after"]) <= window


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real server with the production limits (run.py serves /sse by its lean handler)."""
    limits = {k: list(DEFAULTS[k]) for k in ("message_limit", "typing_limit", "stream_limit")}
    srv = Server(tmp_path_factory.mktemp("limits") / "srv", tuning=limits).start()
    yield srv
    srv.stop()


async def _read_until(client: httpx.AsyncClient, last: str | None, text: str | None) -> list:
    """One connection: its frames up to the first that contains `text` (or the first one)."""
    headers = {"Last-Event-ID": last} if last else {}
    async with client.stream("GET", "/sse", headers=headers) as r:
        assert r.status_code == 200, r.status_code
        chunk = b""
        async for piece in r.aiter_raw():
            chunk += piece
            done = chunk[:chunk.rfind(b"\n\n") + 2]
            frames = [f for f in frames_of(done) if f.dispatches]
            if frames and (text is None or any(text in f.data for f in frames)):
                return frames
    raise AssertionError("the stream ended early")


async def test_a_client_that_resumes_normally_never_meets_a_429_on_sse(server):
    alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
    dm = alice.start_direct("bob")
    async with httpx.AsyncClient(base_url=server.url, cookies=bob.cookies(),
                                 timeout=httpx.Timeout(5)) as client:
        frames = await asyncio.wait_for(_read_until(client, None, None), 5)
        assert frames[0].kind == "resync"
        last = frames[0].id
        for n in range(20):  # twenty reconnects in a row, one at a time, each resuming
            assert alice.send(dm, f"missed {n}").status_code == 201  # while disconnected
            frames = await asyncio.wait_for(_read_until(client, last, f"missed {n}<"), 5)
            assert frames[0].kind == "hello", f"reconnect {n} was not resumed"
            last = frames[-1].id
    alice.close()
    bob.close()


# --------------------------------------------------------------------------------------------
# 413
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, field", [
    ("/c/{dm}/messages", "body"), ("/conversations", "title"), ("/c/{dm}/typing", "body"),
    ("/settings", "show_presence"), ("/presence", "tab"), ("/logout", "x"),
])
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "form"])
async def test_a_body_over_64_kib_gets_413_and_changes_nothing(chat, config, path, field, htmx):
    alice, _bob, dm, _other = chat
    messages = await run_db(lambda: Message.select().count())
    big = "x" * (config.max_body_bytes + 1)
    r = await alice.post(path.format(dm=dm), {field: big}, htmx=htmx)
    assert r.status_code == 413
    text = await r.get_data(as_text=True)
    assert "too large" in text
    if htmx:
        assert 'hx-target="#flash"' in text
    else:
        csrf_of(text)  # a full error page, with the token meta like every page
    assert_security_headers(r, "413")
    assert await run_db(lambda: Message.select().count()) == messages
    assert (await alice.client.get("/")).status_code == 200  # (logout did not happen either)


async def test_a_huge_registration_or_login_gets_413_and_creates_nobody(app):
    client = app.test_client()
    page = await (await client.get("/register")).get_data(as_text=True)
    big = "y" * (70 * 1024)
    for path in ("/register", "/login"):
        r = await client.post(path, form={"username": "bigfoot", "display_name": "B",
                                          "password": big, "csrf_token": csrf_of(page)})
        assert r.status_code == 413, path
    assert await run_db(User.by_username, "bigfoot") is None


# --------------------------------------------------------------------------------------------
# Security headers on everything
# --------------------------------------------------------------------------------------------


def parse_csp(value: str) -> dict[str, list[str]]:
    policy = {}
    for directive in value.split(";"):
        parts = directive.split()
        if parts:
            policy[parts[0].lower()] = parts[1:]
    return policy


def assert_security_headers(r, what: str, stream: bool = False) -> None:
    """`r`: a response, or its headers."""
    headers = {k.lower(): v for k, v in getattr(r, "headers", r).items()}
    assert "content-security-policy" in headers, f"{what}: no CSP"
    csp = parse_csp(headers["content-security-policy"])
    every = " ".join(" ".join(v) for v in csp.values())
    assert "'unsafe-inline'" not in every and "'unsafe-eval'" not in every, what
    assert csp.get("script-src") == ["'self'"], f"{what}: script-src {csp.get('script-src')}"
    assert csp.get("default-src") == ["'self'"], what
    assert csp.get("frame-ancestors") == ["'none'"], what
    assert csp.get("object-src") == ["'none'"] and csp.get("base-uri") == ["'none'"], what
    assert headers.get("x-content-type-options") == "nosniff", what
    if stream:
        return
    assert headers.get("referrer-policy") in ("same-origin", "no-referrer", "strict-origin",
                                              "strict-origin-when-cross-origin"), what
    if headers.get("content-type", "").startswith("text/html"):
        assert "no-store" in headers.get("cache-control", ""), f"{what}: a page with a token"


async def test_every_kind_of_response_carries_the_security_headers(app, chat, make_user):
    alice, _bob, dm, _other = chat
    op = await make_user("olga")
    await run_db(lambda: User.update(role="operator").where(User.username == "olga").execute())
    anon = app.test_client()
    hx = {"HX-Request": "true"}
    checks = [
        ("login page", await anon.get("/login"), 200),
        ("register page", await anon.get("/register"), 200),
        ("redirect to login", await anon.get("/"), 302),
        ("conversation list", await alice.client.get("/"), 200),
        ("conversation page", await alice.client.get(f"/c/{dm}"), 200),
        ("settings page", await alice.client.get("/settings"), 200),
        ("dashboard", await op.client.get("/dashboard"), 200),
        ("404 page", await alice.client.get("/no/such/page"), 404),
        ("404 of a foreign conversation", await op.client.get(f"/c/{dm}"), 404),
        ("403 page", await alice.client.get("/dashboard"), 403),
        ("405 page", await alice.client.get("/logout"), 405),
        ("403 forged post", await alice.client.post(f"/c/{dm}/messages", form={"body": "x"}),
         403),
        ("401 fragment", await anon.get("/sidebar", headers=hx), 401),
        ("422 fragment", await alice.post(f"/c/{dm}/messages", {"body": " "}), 422),
        ("sidebar fragment", await alice.client.get("/sidebar", headers=hx), 200),
        ("history fragment", await alice.client.get(f"/c/{dm}/messages", headers=hx), 200),
        ("sent message fragment", await alice.post(f"/c/{dm}/messages", {"body": "x"}), 201),
        ("typing (no content)", await alice.post(f"/c/{dm}/typing", {"body": "x"}), 204),
        ("429 fragment", await alice.post(f"/c/{dm}/typing", {"body": "xy"}), 429),
        ("javascript", await anon.get("/static/app.js"), 200),
        ("stylesheet", await anon.get("/static/app.css"), 200),
        ("vendored htmx", await anon.get("/static/vendor/htmx.min.js"), 200),
        ("missing static file", await anon.get("/static/nope.js"), 404),
        ("health", await anon.get("/healthz"), 200),
        ("metrics", await anon.get("/metrics"), 200),
        ("401 stream", await anon.get("/sse"), 401),
    ]
    for what, r, status in checks:
        assert r.status_code == status, what
        assert_security_headers(r, what)
    assert (await anon.get("/static/app.js")).headers["Content-Type"].startswith("text/javascript")
    # No response invites another site to read it (no CORS), whatever Origin asks.
    for path in ("/", "/sidebar", f"/c/{dm}/messages"):
        r = await alice.client.get(path, headers={"Origin": "https://evil.example", **hx})
        assert not any(k.lower().startswith("access-control-") for k in r.headers.keys()), path
    status, headers, _first = await first_sse_frame(alice.client)
    assert status == 200
    assert_security_headers(headers, "open stream (Quart route)", stream=True)


async def test_the_real_servers_stream_carries_csp_and_nosniff(server):
    alice = Person(server.url, "alice_h")
    async with httpx.AsyncClient(base_url=server.url, cookies=alice.cookies(),
                                 timeout=httpx.Timeout(5)) as client, \
            client.stream("GET", "/sse") as r:
        assert r.status_code == 200
        assert_security_headers(r, "open stream (lean handler)", stream=True)
    async with httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(5)) as client:
        assert (await client.get("/sse")).status_code == 401  # anonymous: not a redirect
    alice.close()


async def test_the_real_servers_stream_refusals_carry_the_security_headers(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(5)) as client:
        r = await client.get("/sse")
    assert r.status_code == 401
    assert_security_headers(r, "401 stream (lean handler)", stream=True)


# --------------------------------------------------------------------------------------------
# In a browser: a 429 on sending says so in #flash, and keeps what was typed
# --------------------------------------------------------------------------------------------


def test_sending_too_fast_shows_a_readable_message_and_keeps_the_text(live, page_for, problems):
    from playwright.sync_api import expect

    from tests.browser.helpers import COMPOSER, messages_by, stream_connected

    problems.allow(r"status of 429")  # Chromium logs every 4xx response as a console error
    alice, bob = live.person("alice"), live.person("bob")
    dm = alice.start_direct("bob")
    page = page_for(alice)
    page.goto(f"/c/{dm}")
    stream_connected(page)
    began = time.monotonic()
    limit, window = DEFAULTS["message_limit"]
    for n in range(limit):  # the same person, from another tab, as fast as it goes
        assert alice.send(dm, f"burst {n}").status_code == 201
    box = page.locator(COMPOSER)
    box.click()
    box.fill("this must not be lost")
    box.press("Enter")
    flash = page.locator("#flash")
    expect(flash).to_contain_text("too fast")
    expect(flash.locator("[data-status='429']")).to_be_visible()
    expect(box).to_have_value("this must not be lost")
    assert messages_by(page, "alice").filter(has_text="this must not be lost").count() == 0
    # Once the window has passed, Enter sends the same text, and the notice goes away.
    time.sleep(max(0.0, window - (time.monotonic() - began)) + 0.3)
    box.press("Enter")
    expect(messages_by(page, "alice").filter(has_text="this must not be lost")).to_have_count(1)
    expect(box).to_have_value("")
    expect(flash).to_have_text("")
    alice.close()
    bob.close()
