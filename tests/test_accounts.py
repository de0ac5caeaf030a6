"""Accounts: register, log in, log out, CSRF, sessions and login limits."""

import re

from app.db import run_db
from app.models import Session, User


async def test_every_page_carries_the_csrf_meta_even_errors(client):
    for path, status in [("/login", 200), ("/register", 200), ("/nope", 404)]:
        r = await client.get(path)
        assert r.status_code == status
        assert '<meta name="csrf-token" content="' in await r.get_data(as_text=True)


async def test_anonymous_visitors_are_sent_to_the_login_page(client):
    r = await client.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


async def test_registering_signs_you_in_with_a_safe_cookie(client):
    page = await (await client.get("/register")).get_data(as_text=True)
    token = re.search(r'csrf-token" content="([^"]+)"', page).group(1)
    r = await client.post("/register", form={"username": "Alice", "display_name": "Alice A",
                                             "password": "wonderland-7", "csrf_token": token})
    assert r.status_code == 303
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert (await client.get("/")).status_code == 200
    user = await run_db(User.by_username, "alice")
    assert user.username == "alice" and user.password_hash.startswith("$argon2")


async def test_a_username_is_unique_ignoring_case(make_user, client):
    await make_user("alice")
    page = await (await client.get("/register")).get_data(as_text=True)
    token = re.search(r'csrf-token" content="([^"]+)"', page).group(1)
    r = await client.post("/register", form={"username": "ALICE", "display_name": "Other",
                                             "password": "wonderland-7", "csrf_token": token})
    assert r.status_code == 422
    assert "That username is taken." in await r.get_data(as_text=True)
    assert len(await run_db(lambda: list(User.select()))) == 1


async def test_weak_or_empty_passwords_are_refused_with_a_reason(client):
    page = await (await client.get("/register")).get_data(as_text=True)
    token = re.search(r'csrf-token" content="([^"]+)"', page).group(1)
    for password, reason in [("", "at least 8"), ("1234567890", "too easy"), ("aaaaaaaaa", "too easy")]:
        r = await client.post("/register", form={"username": "bob", "display_name": "Bob",
                                                 "password": password, "csrf_token": token})
        assert r.status_code == 422
        assert reason in await r.get_data(as_text=True)
    assert await run_db(User.by_username, "bob") is None


async def test_a_post_without_the_csrf_token_is_refused(client):
    r = await client.post("/register", form={"username": "bob", "display_name": "Bob",
                                             "password": "wonderland-7"})
    assert r.status_code == 403
    assert await run_db(User.by_username, "bob") is None


async def test_a_post_from_a_foreign_origin_is_refused_even_with_a_token(make_user):
    alice = await make_user("alice")
    r = await alice.post("/conversations", {"title": "x", "members": "alice"},
                         headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = await alice.post("/logout", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403


async def test_login_with_a_wrong_password_says_so_and_the_right_one_works(make_user, app):
    await make_user("alice")
    client = app.test_client()
    page = await (await client.get("/login")).get_data(as_text=True)
    token = re.search(r'csrf-token" content="([^"]+)"', page).group(1)
    r = await client.post("/login", form={"username": "alice", "password": "nope-nope-nope",
                                          "csrf_token": token})
    assert r.status_code == 401
    assert "do not match" in await r.get_data(as_text=True)
    r = await client.post("/login", form={"username": "Alice", "password": "correct horse battery",
                                          "csrf_token": token})
    assert r.status_code == 303
    assert (await client.get("/")).status_code == 200


async def test_logout_revokes_the_session_id_so_an_old_cookie_is_useless(make_user, app):
    alice = await make_user("alice")
    saved = [(c.name, c.value) for c in alice.client.cookie_jar]
    r = await alice.post("/logout", htmx=False)
    assert r.status_code == 303
    assert await run_db(lambda: Session.select().count()) == 0
    replayed = app.test_client()
    for name, value in saved:
        replayed.set_cookie("localhost", name, value)
    assert (await replayed.get("/")).status_code == 302


async def test_login_attempts_are_limited_per_name(make_user, app, config):
    await make_user("alice")
    client = app.test_client()
    page = await (await client.get("/login")).get_data(as_text=True)
    token = re.search(r'csrf-token" content="([^"]+)"', page).group(1)
    limit = config.login_limit[0]
    codes = []
    for _ in range(limit + 1):
        r = await client.post("/login", form={"username": "alice", "password": "wrong-password",
                                              "csrf_token": token})
        codes.append(r.status_code)
    assert codes[:limit] == [401] * limit
    assert codes[-1] == 429
    assert int(r.headers["Retry-After"]) >= 1


async def test_security_headers_are_on_every_page(client):
    r = await client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
