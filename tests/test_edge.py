"""The edge middlewares: which Host names are served, and whose forwarded headers count."""

from __future__ import annotations

from app.web.hosts import allowed, host_name
from app.web.proxy import TrustedProxies, networks


def test_host_names_lose_their_port_and_case():
    assert host_name("Kehai.Example:8000") == "kehai.example"
    assert host_name("[::1]:8000") == "::1"
    assert host_name("127.0.0.1.evil.example") == "127.0.0.1.evil.example"


def test_by_default_the_local_names_and_the_bind_host_are_served():
    assert allowed((), "chat.internal") == {"127.0.0.1", "localhost", "::1", "chat.internal"}
    assert allowed(("kehai.example",), "127.0.0.1") == {"kehai.example"}


async def _seen(peer: str, headers: list[tuple[bytes, bytes]], trusted: str = "10.0.0.1"):
    seen: dict = {}

    async def app(scope, _receive, _send):
        seen.update(scope)

    await TrustedProxies(app, networks(trusted.split(",")))(
        {"type": "http", "scheme": "http", "client": (peer, 5000), "headers": headers},
        None, None)
    return seen["scheme"], seen["client"][0]


async def test_only_a_listed_proxy_sets_the_scheme_and_the_client():
    headers = [(b"x-forwarded-proto", b"https"), (b"x-forwarded-for", b"198.51.100.7")]
    assert await _seen("10.0.0.1", headers) == ("https", "198.51.100.7")
    assert await _seen("10.0.0.2", headers) == ("http", "10.0.0.2")


async def test_the_client_is_the_nearest_address_that_is_not_a_proxy():
    chain = [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.7, 10.0.0.5")]
    assert await _seen("10.0.0.1", chain, "10.0.0.0/24") == ("http", "198.51.100.7")
    junk = [(b"x-forwarded-for", b"not-an-address"), (b"x-forwarded-proto", b"gopher")]
    assert await _seen("10.0.0.1", junk) == ("http", "10.0.0.1")
