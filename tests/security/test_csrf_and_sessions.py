"""Forged requests and stolen or planted sessions.

Every state-changing route refuses a request without the page's token, with a wrong one, with
another session's, and any request another site makes (a foreign or `null` Origin, or
`Sec-Fetch-Site: cross-site`) even when it carries a valid token. The session cookie is
HttpOnly, SameSite=Lax and Secure over https; it holds only a revocable server-side session id
that changes at login. (Changing the password revokes the other sessions and closes their
streams: tests/stream/test_stream.py::
test_changing_the_password_signs_out_other_sessions_and_closes_their_streams.)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.db import run_db
from app.models import Conversation, Membership, Message, Session, User
from tests.conftest import WebUser
from tests.security.helpers import csrf_of

PASSWORD = "correct horse battery"
COOKIE = "kehai_session"


@dataclass
class Target:
    name: str
    path: str
    data: dict[str, str]
    ok: int
    anonymous: bool = False  # sent from a signed-out browser (register, login)


TARGETS = [
    Target("register", "/register", {"username": "mallory", "display_name": "M",
                                     "password": PASSWORD}, 303, anonymous=True),
    Target("login", "/login", {"username": "alice", "password": PASSWORD}, 303, anonymous=True),
    Target("logout", "/logout", {}, 303),
    Target("start a conversation", "/conversations", {"with": "carol"}, 303),
    Target("send a message", "/c/{dm}/messages", {"body": "forged"}, 201),
    Target("edit a message", "/c/{dm}/messages/{own}/edit", {"body": "forged"}, 200),
    Target("delete a message", "/c/{dm}/messages/{own}/delete", {}, 200),
    Target("typing", "/c/{dm}/typing", {"body": "forged"}, 204),
    Target("read mark", "/c/{dm}/read", {"up_to": "{mid}"}, 204),
    Target("presence", "/presence", {"state": "away"}, 204),
    Target("settings", "/settings", {}, 303),
    Target("change password", "/settings/password",
           {"current_password": PASSWORD, "new_password": "an attacker's choice 1"}, 303),
]

# (what the attacker's request looks like, headers, which token it carries)
ATTACKS = [
    ("no token at all", {}, None),
    ("an empty token", {}, ""),
    ("a made-up token", {}, "A" * 43),
    ("another session's token", {}, "other"),
    ("a valid token from a foreign Origin", {"Origin": "https://evil.example"}, "valid"),
    ("a valid token from a look-alike Origin", {"Origin": "http://localhost.evil.example"},
     "valid"),
    ("a valid token from another port", {"Origin": "http://localhost:8080"}, "valid"),
    ("a valid token from a non-http Origin", {"Origin": "file://localhost"}, "valid"),
    ("a valid token with Origin: null", {"Origin": "null"}, "valid"),
    ("a valid token, Sec-Fetch-Site: cross-site", {"Sec-Fetch-Site": "cross-site"}, "valid"),
    ("a valid token in the form, cross-site", {"Sec-Fetch-Site": "cross-site"}, "valid-form"),
]


async def snapshot(app) -> tuple:
    """Everything a forged request could change: tables, typing and presence state."""

    def tables() -> tuple:
        return (
            list(User.select(User.id, User.username, User.display_name, User.password_hash,
                             User.show_presence, User.send_read_receipts).tuples()),
            sorted(Session.select(Session.id).tuples()),
            list(Conversation.select(Conversation.id, Conversation.title).tuples()),
            list(Membership.select(Membership.conversation, Membership.user,
                                   Membership.last_read_message_id).tuples()),
            list(Message.select(Message.id, Message.body).tuples()),
        )

    typing = {c: sorted(t) for c, t in app.kehai.typing.state.timers.items()}
    seen = dict(app.kehai.presence.tracker.last_seen)
    return (await run_db(tables), typing, seen)


@pytest.fixture
async def scene(app, make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    await make_user("carol")
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)
    dm = int(r.headers["Location"].rsplit("/", 1)[1])
    r = await bob.post(f"/c/{dm}/messages", {"body": "read me"})
    mid = int((await r.get_data(as_text=True)).split('data-message-id="')[1].split('"')[0])
    r = await alice.post(f"/c/{dm}/messages", {"body": "mine"})
    own = int((await r.get_data(as_text=True)).split('data-message-id="')[1].split('"')[0])
    await alice.page(f"/c/{dm}")
    await bob.page("/")
    anonymous = WebUser(app.test_client(), "anonymous")
    await anonymous.page("/login")
    return {"alice": alice, "bob": bob, "anonymous": anonymous, "dm": dm, "mid": mid,
            "own": own}


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
async def test_a_forged_request_changes_nothing_and_the_genuine_one_works(app, scene, target):
    user: WebUser = scene["anonymous"] if target.anonymous else scene["alice"]
    path = target.path.format(dm=scene["dm"], own=scene["own"])
    data = {k: v.format(mid=scene["mid"]) for k, v in target.data.items()}
    before = await snapshot(app)
    refused = {}
    for label, headers, token in ATTACKS:
        form = dict(data)
        sent = dict(headers)
        if token == "valid":
            sent["X-CSRF-Token"] = user.csrf
        elif token == "valid-form":
            form["csrf_token"] = user.csrf
        elif token == "other":
            sent["X-CSRF-Token"] = scene["bob"].csrf
        elif token is not None:
            sent["X-CSRF-Token"] = token
        r = await user.client.post(path, form=form, headers={"HX-Request": "true", **sent})
        refused[label] = r.status_code
    assert refused == {label: 403 for label, _h, _t in ATTACKS}
    assert await snapshot(app) == before, "a refused request changed something"
    if not target.anonymous:
        assert (await user.client.get("/")).status_code == 200, "still signed in"
    # The same request from the page itself (same origin, the page's token) goes through.
    r = await user.client.post(path, form={**data, "csrf_token": user.csrf},
                               headers={"Origin": "http://localhost",
                                        "Sec-Fetch-Site": "same-origin", "HX-Request": "true"})
    assert r.status_code == target.ok, await r.get_data(as_text=True)
    assert await snapshot(app) != before, "the genuine request changed nothing: proves nothing"


async def test_the_token_is_accepted_as_a_header_or_as_a_form_field_and_nowhere_else(scene):
    alice: WebUser = scene["alice"]
    cid = scene["dm"]
    r = await alice.client.post(f"/c/{cid}/messages?csrf_token={alice.csrf}",
                                form={"body": "token in the query string"},
                                headers={"HX-Request": "true"})
    assert r.status_code == 403
    r = await alice.client.post(f"/c/{cid}/messages", form={"body": "as a field",
                                                             "csrf_token": alice.csrf},
                                headers={"HX-Request": "true"})
    assert r.status_code == 201
    r = await alice.post(f"/c/{cid}/messages", {"body": "as a header"})
    assert r.status_code == 201


# --------------------------------------------------------------------------------------------
# The cookie
# --------------------------------------------------------------------------------------------


def _cookie_header(response) -> str:
    found = [v for k, v in response.headers.items() if k.lower() == "set-cookie"
             and v.startswith(COOKIE + "=")]
    assert found, "no session cookie was set"
    return found[-1]


def _attributes(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}


def _samesite(set_cookie: str) -> str:
    for part in set_cookie.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "samesite":
            return value
    return ""


async def _sign_in(client, scheme: str = "http", username: str = "alice"):
    page = await (await client.get("/login", scheme=scheme)).get_data(as_text=True)
    return await client.post("/login", scheme=scheme, form={
        "username": username, "password": PASSWORD, "csrf_token": csrf_of(page)})


async def test_the_session_cookie_is_httponly_and_samesite_lax_and_secure_only_over_https(
        app, make_user):
    await make_user("alice")
    plain = await _sign_in(app.test_client())
    assert plain.status_code == 303
    cookie = _cookie_header(plain)
    assert {"httponly", "path"} <= _attributes(cookie) and _samesite(cookie) == "Lax"
    assert "secure" not in _attributes(cookie), "a Secure cookie would be lost over plain http"
    assert "domain" not in _attributes(cookie), "host-only: no sibling subdomain gets it"

    https = await _sign_in(app.test_client(), scheme="https")
    assert https.status_code == 303
    cookie = _cookie_header(https)
    assert {"secure", "httponly"} <= _attributes(cookie) and _samesite(cookie) == "Lax"
    # An anonymous visitor's cookie (it carries the login form's token) gets the same flags.
    first = await app.test_client().get("/login", scheme="https")
    assert {"secure", "httponly"} <= _attributes(_cookie_header(first))


def _session_of(app, client) -> dict:
    value = next(c.value for c in client.cookie_jar if c.name == COOKIE)
    return dict(app.session_interface.get_signing_serializer(app).loads(value))


def _cookie_value(client) -> str:
    return next(c.value for c in client.cookie_jar if c.name == COOKIE)


def _with_cookie(app, value: str):
    client = app.test_client()
    client.set_cookie("localhost", COOKIE, value)
    return client


async def test_the_cookie_holds_only_a_random_session_id_and_the_csrf_token(app, make_user):
    alice = await make_user("alice")
    session = _session_of(app, alice.client)
    assert set(session) <= {"sid", "csrf", "_permanent"}
    assert len(session["sid"]) >= 40 and "alice" not in str(session)
    row = await run_db(Session.get_by_id, session["sid"])
    assert row.user_id == (await run_db(User.by_username, "alice")).id


async def test_signing_in_issues_a_new_session_id_so_a_planted_cookie_stays_anonymous(
        app, make_user):
    await make_user("alice")
    # The attacker fetches a page, keeps the anonymous cookie and plants it in the victim's
    # browser; the victim signs in with it.
    attacker = app.test_client()
    page = await (await attacker.get("/login")).get_data(as_text=True)
    planted = _cookie_value(attacker)
    planted_token = csrf_of(page)
    victim = _with_cookie(app, planted)
    page = await (await victim.get("/login")).get_data(as_text=True)
    assert csrf_of(page) == planted_token  # the same anonymous session, as planted
    r = await victim.post("/login", form={"username": "alice", "password": PASSWORD,
                                          "csrf_token": planted_token})
    assert r.status_code == 303
    after = _session_of(app, victim)
    assert _cookie_value(victim) != planted and after["csrf"] != planted_token
    assert "sid" not in dict(app.session_interface.get_signing_serializer(app).loads(planted))
    # The attacker's copy is still an anonymous session, and the token they know is dead.
    assert (await _with_cookie(app, planted).get("/")).status_code == 302
    r = await victim.post("/presence", form={"state": "away"},
                          headers={"X-CSRF-Token": planted_token})
    assert r.status_code == 403


async def test_signing_in_again_revokes_the_previous_session_id(app, make_user):
    alice = await make_user("alice")
    first = _session_of(app, alice.client)["sid"]
    old_cookie = _cookie_value(alice.client)
    r = await _sign_in(alice.client)
    assert r.status_code == 303
    second = _session_of(app, alice.client)["sid"]
    assert second != first
    assert await run_db(Session.get_or_none, Session.id == first) is None
    assert (await _with_cookie(app, old_cookie).get("/")).status_code == 302
    assert (await alice.client.get("/")).status_code == 200


async def test_after_logout_a_saved_cookie_opens_nothing(app, make_user):
    alice = await make_user("alice")
    saved = _cookie_value(alice.client)
    token = alice.csrf
    sid = _session_of(app, alice.client)["sid"]
    assert (await alice.post("/logout", htmx=False)).status_code == 303
    assert await run_db(Session.get_or_none, Session.id == sid) is None
    replay = _with_cookie(app, saved)
    assert (await replay.get("/")).status_code == 302
    assert (await replay.get("/sse")).status_code == 401
    r = await replay.post("/presence", form={"state": "away"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 401  # the old token still matches the old cookie: login decides
    r = await replay.post("/conversations", form={"title": "x", "members": "alice"},
                          headers={"X-CSRF-Token": token})
    assert r.status_code == 401


async def test_a_tampered_or_foreign_signed_cookie_is_ignored(app, make_user):
    import hashlib

    from itsdangerous import URLSafeTimedSerializer

    alice = await make_user("alice")
    await make_user("bob")
    value = _cookie_value(alice.client)
    payload, _, rest = value.partition(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert (await _with_cookie(app, f"{flipped}.{rest}").get("/")).status_code == 302
    # A session id of bob's, signed with any other key, opens nothing either.
    bob_sid = (await run_db(lambda: Session.select().join(User)
                            .where(User.username == "bob").get())).id
    forged = URLSafeTimedSerializer("not-the-secret", salt="cookie-session",
                                    signer_kwargs={"key_derivation": "hmac",
                                                   "digest_method": hashlib.sha1}
                                    ).dumps({"sid": bob_sid})
    assert (await _with_cookie(app, forged).get("/")).status_code == 302


async def test_a_wrong_password_and_an_unknown_name_look_the_same(app, make_user):
    await make_user("alice")
    bodies = []
    for username in ("alice", "nobody_here"):
        client = app.test_client()
        page = await (await client.get("/login")).get_data(as_text=True)
        r = await client.post("/login", form={"username": username, "password": "wrong one 1",
                                              "csrf_token": csrf_of(page)})
        assert r.status_code == 401
        text = await r.get_data(as_text=True)
        bodies.append(text.replace(csrf_of(text), "").replace(username, "NAME"))
    assert bodies[0] == bodies[1]


@pytest.mark.parametrize("target", [
    "//evil.example", "/\\evil.example", "\\/evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\r\n/evil.example", " //evil.example", "https://evil.example",
    "javascript:alert(1)", "/%2F/evil.example", "/.//evil.example", "//", "/\x0b/evil.example",
    "http:evil.example", "/\u3000/evil.example",
])
async def test_login_never_redirects_to_another_site(app, make_user, target):
    from tests.security.helpers import browser_destination

    await make_user("alice")
    client = app.test_client()
    page = await (await client.get("/login", query_string={"next": target})).get_data(
        as_text=True)
    r = await client.post("/login", form={"username": "alice", "password": PASSWORD,
                                          "next": target, "csrf_token": csrf_of(page)})
    assert r.status_code == 303
    assert browser_destination(r.headers["Location"]) == "kehai.test", r.headers["Location"]


async def test_a_cookie_read_outside_quart_expires_at_its_age_even_when_read_before(
        app, make_user, monkeypatch):
    # The lean handlers remember cookies whose signature they checked; the remembered ones
    # must still stop working once they are older than the session's lifetime.
    import time

    from app.web.cookie_session import CookieSession

    alice = await make_user("alice")
    cookies = CookieSession(app)
    headers = {b"cookie": f"{COOKIE}={_cookie_value(alice.client)}".encode()}
    first = cookies.read(headers)
    assert first is not None and first == cookies.read(headers)
    tampered = {b"cookie": headers[b"cookie"][:-2] + b"xx"}
    assert cookies.read(tampered) is None
    later = time.time() + app.permanent_session_lifetime.total_seconds() + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert cookies.read(headers) is None
