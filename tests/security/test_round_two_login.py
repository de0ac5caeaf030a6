"""Attack suite, round two: the login limiter as a weapon.

- Anyone can make the server remember any string: the per-name limiter key was taken from the
  raw form before the name was validated, so huge names grow memory without bound.
- Ten wrong guesses for someone's name from anywhere locked the owner out for three minutes;
  the limit belongs to (name, address), with a higher per-name ceiling behind it, and a
  successful login counts toward nothing.

The limits here are the production values (DESIGN.md), not the suite's relaxed ones.
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

import httpx
import pytest

from app.config import Config
from tests.security.helpers import csrf_of
from tests.support import Server

PASSWORD = "correct horse battery"
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config)}
HUGE = 60_000


@pytest.fixture
def config(config):
    """The production login limit (10 per 3 minutes), not the suite's relaxed one."""
    return dataclasses.replace(config, login_limit=DEFAULTS["login_limit"])


async def login(app, username: str, password: str, address: str):
    """One attempt from `address`, through the login form as a browser would."""
    client = app.test_client()
    scope = {"client": (address, 40000)}
    page = await (await client.get("/login", scope_base=scope)).get_data(as_text=True)
    return await client.post("/login", scope_base=scope, form={
        "username": username, "password": password, "csrf_token": csrf_of(page)})


# --------------------------------------------------------------------------------------------
# 3. Names that cannot exist cost the server nothing
# --------------------------------------------------------------------------------------------


async def test_an_impossible_username_is_refused_with_a_message_and_counts_toward_no_limit(
        app, config):
    huge = "x" * HUGE
    limit = config.login_limit[0]
    answers = []
    for n in range(limit + 3):  # one name, many addresses: only a per-name key would fill up
        r = await login(app, huge, "whatever it is 1", f"10.20.{n}.1")
        answers.append((r.status_code, await r.get_data(as_text=True)))
    statuses = [status for status, _text in answers]
    assert 429 not in statuses, f"an impossible name was counted toward a per-name limit: {statuses}"
    assert set(statuses) <= {400, 401, 422}, statuses
    for _status, text in answers:
        assert 'role="alert"' in text or "field-error" in text, "no message for the visitor"
        assert huge not in text, "the 60,000-character name was echoed back in full"


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_three_hundred_logins_with_huge_usernames_do_not_grow_the_server(tmp_path: Path):
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read a process's resident memory")
    server = Server(tmp_path / "srv").start()
    try:
        assert server.proc is not None
        with httpx.Client(base_url=server.url, timeout=30) as client:
            token = csrf_of(client.get("/login").text)

            def attempts(n: int) -> None:
                for _ in range(n):
                    name = secrets.token_hex(HUGE // 2)  # a new 60,000-character name each time
                    r = client.post("/login", data={"username": name, "password": "x",
                                                    "csrf_token": token})
                    assert r.status_code < 500, r.status_code

            attempts(40)  # warm up: allocator arenas, template caches
            before = rss_kib(server.proc.pid)
            attempts(300)
            grown = rss_kib(server.proc.pid) - before
    finally:
        server.stop()
    # 300 names of 60,000 characters are 18 MB if each one is kept as a limiter key.
    assert grown < 6 * 1024, f"the server grew by {grown / 1024:.1f} MiB for 300 failed logins"


# --------------------------------------------------------------------------------------------
# 4. Nobody can lock someone else out
# --------------------------------------------------------------------------------------------


async def test_wrong_guesses_from_one_address_do_not_lock_the_owner_out_from_another(
        app, make_user, config):
    await make_user("alice")
    limit, window = config.login_limit
    for _ in range(limit):
        assert (await login(app, "alice", "wrong password 1", "10.0.0.66")).status_code == 401
    r = await login(app, "alice", "wrong password 1", "10.0.0.66")
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= window
    # Alice at home, from her own address, with her password.
    r = await login(app, "alice", PASSWORD, "10.0.0.2")
    assert r.status_code == 303, f"the owner was locked out: {r.status_code}"


async def test_successful_logins_count_toward_no_limit(app, make_user, config):
    await make_user("alice")
    limit = config.login_limit[0]
    statuses = [(await login(app, "alice", PASSWORD, "10.0.0.2")).status_code
                for _ in range(limit + 5)]
    assert statuses == [303] * (limit + 5), statuses


async def test_a_per_name_ceiling_above_the_per_address_limit_still_stops_a_spread_out_guesser(
        app, make_user, config):
    await make_user("alice")
    limit = config.login_limit[0]
    statuses = []
    for n in range(300):  # a botnet: every guess from a new address
        r = await login(app, "alice", f"guess number {n}", f"10.{n // 250}.{n % 250}.7")
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    first_refusal = statuses.index(429) if 429 in statuses else None
    assert first_refusal is not None, "300 guesses for one name from 300 addresses all went in"
    assert first_refusal > limit, (
        f"the per-name ceiling ({first_refusal} guesses) is no higher than the per-address "
        f"limit ({limit}): anyone can lock a user out")
