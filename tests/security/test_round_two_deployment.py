"""Attack suite, round two: settings for a real deployment, through a real server.

- Behind a TLS-terminating proxy every request arrives over plain http, so the session cookie
  was never Secure. With KEHAI_TRUSTED_PROXIES naming the proxy, its X-Forwarded-Proto counts;
  from anyone else (or without the setting) forwarded headers are ignored.
- Any Host header was accepted (DNS rebinding): KEHAI_ALLOWED_HOSTS lists the names served,
  and by default only the local names and KEHAI_HOST are.
- /metrics was open to anyone: KEHAI_METRICS_TOKEN requires `Authorization: Bearer <token>`.

Settings are given as environment variables, as an operator would give them.
"""

from __future__ import annotations

import httpx
import pytest

from tests.security.helpers import csrf_of
from tests.support import Person, Server

COOKIE = "kehai_session"
TOKEN = "metrics-token-for-the-tests"
HARDENED = {
    "KEHAI_TRUSTED_PROXIES": "127.0.0.1",
    "KEHAI_ALLOWED_HOSTS": "kehai.example,127.0.0.1",
    "KEHAI_METRICS_TOKEN": TOKEN,
}
# Loopback is all of 127/8 on Linux: a request from 127.0.0.2 comes from a peer that is not
# the trusted proxy, to the same server.
STRANGER = "127.0.0.2"


@pytest.fixture(scope="module")
def hardened(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("hardened") / "srv", env=HARDENED).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("plain") / "srv").start()
    yield srv
    srv.stop()


def session_cookies(r: httpx.Response) -> list[str]:
    """Set-Cookie headers of the session cookie (plain or __Host- prefixed)."""
    return [v for v in r.headers.get_list("set-cookie")
            if v.split("=", 1)[0] in (COOKIE, f"__Host-{COOKIE}")]


def attributes(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}


def sign_in(server: Server, username: str, headers: dict[str, str],
            source: str | None = None) -> httpx.Response:
    """GET /login then POST it with `headers`, carrying the cookie by hand: a Secure cookie is
    one httpx would not send back over http, but the proxy in front would."""
    transport = httpx.HTTPTransport(local_address=source) if source else None
    with httpx.Client(base_url=server.url, transport=transport, timeout=10) as client:
        page = client.get("/login", headers=headers)
        assert page.status_code == 200, page.status_code
        jar = "; ".join(v.split(";", 1)[0] for v in session_cookies(page))
        client.cookies.clear()
        return client.post("/login", headers={**headers, "Cookie": jar}, data={
            "username": username, "password": "correct horse battery",
            "csrf_token": csrf_of(page.text)})


def assert_secure(set_cookie: str) -> None:
    name = set_cookie.split("=", 1)[0]
    attrs = attributes(set_cookie)
    assert "secure" in attrs, f"not Secure behind the TLS proxy: {set_cookie}"
    assert {"httponly"} <= attrs
    if name.startswith("__Host-"):
        assert "domain" not in attrs and "path=/" in set_cookie.lower().replace(" ", "")


# --------------------------------------------------------------------------------------------
# 6. Secure behind a trusted TLS proxy, and only there
# --------------------------------------------------------------------------------------------


def test_behind_a_trusted_tls_proxy_the_session_cookie_is_secure(hardened):
    Person(hardened.url, "alice").close()
    r = sign_in(hardened, "alice", {"X-Forwarded-Proto": "https"})
    assert r.status_code == 303, r.status_code
    cookies = session_cookies(r)
    assert cookies, "signing in set no session cookie"
    for cookie in cookies:
        assert_secure(cookie)


def test_forwarded_headers_from_a_peer_that_is_not_the_proxy_are_ignored(hardened):
    Person(hardened.url, "bob").close()
    r = sign_in(hardened, "bob", {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.9"},
                source=STRANGER)
    assert r.status_code == 303, r.status_code
    for cookie in session_cookies(r):
        assert "secure" not in attributes(cookie), f"a stranger's header made it Secure: {cookie}"


def test_without_a_trusted_proxy_setting_forwarded_headers_are_ignored(plain):
    Person(plain.url, "carol").close()
    r = sign_in(plain, "carol", {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})
    assert r.status_code == 303, r.status_code
    cookies = session_cookies(r)
    assert cookies and all("secure" not in attributes(c) for c in cookies), cookies
    assert r.headers["location"].startswith("/") or "evil.example" not in r.headers["location"]


# --------------------------------------------------------------------------------------------
# 12a. Only the hosts we serve
# --------------------------------------------------------------------------------------------


def test_a_request_for_a_host_not_in_the_allowed_hosts_gets_400(hardened):
    dave = Person(hardened.url, "dave")
    for path in ("/login", "/healthz", "/"):
        r = httpx.get(hardened.url + path, headers={"Host": "evil.example"})
        assert r.status_code == 400, f"{path} for Host evil.example: {r.status_code}"
        r = httpx.get(hardened.url + path, headers={"Host": "kehai.example"},
                      cookies=dave.cookies())
        assert r.status_code in (200, 302), f"{path} for Host kehai.example: {r.status_code}"
    # The stream too (served beside the app), for a signed-in user.
    r = httpx.get(hardened.url + "/sse", headers={"Host": "evil.example"},
                  cookies=dave.cookies(), timeout=5)
    assert r.status_code == 400, f"/sse for Host evil.example: {r.status_code}"
    dave.close()


def test_by_default_only_the_local_names_are_served(plain):
    for host in ("localhost", f"localhost:{plain.port}", f"127.0.0.1:{plain.port}"):
        r = httpx.get(plain.url + "/login", headers={"Host": host})
        assert r.status_code == 200, f"Host {host}: {r.status_code}"
    for host in ("evil.example", f"evil.example:{plain.port}", "127.0.0.1.evil.example"):
        r = httpx.get(plain.url + "/login", headers={"Host": host})
        assert r.status_code == 400, f"Host {host}: {r.status_code}"


# --------------------------------------------------------------------------------------------
# 12d. /metrics behind a token
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer wrong-token",
                                           f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_without_the_right_bearer_token_are_refused(hardened, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    r = httpx.get(hardened.url + "/metrics", headers=headers)
    assert r.status_code in (401, 403), f"Authorization {authorization!r}: {r.status_code}"
    assert "kehai_" not in r.text


def test_metrics_with_the_bearer_token_are_served(hardened):
    r = httpx.get(hardened.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and "kehai_" in r.text
