"""deploy/nginx's site, on the real nginx with TLS and HTTP/2, in front of two Kehai
processes on PostgreSQL + Redis: events are not held back, streams resume on either side."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from httpx_sse import aconnect_sse

from tests.ops.nginx import Nginx, nginx_binary
from tests.scaleout.conftest import REDIS_URL
from tests.support import Person, Server


@dataclasses.dataclass
class Proxied:
    nginx: Nginx
    nodes: list[Server]
    tls: ssl.SSLContext

    def person(self, name: str, register: bool = True) -> Person:
        return Person(self.nginx.url, name, register=register, verify=self.tls, http2=True)

    def streams_on(self) -> list[float]:
        """Open streams per upstream, asked of each process directly."""
        counts = []
        for node in self.nodes:
            text = httpx.get(node.url + "/metrics", timeout=5).text
            line = next(ln for ln in text.splitlines() if ln.startswith("kehai_open_streams "))
            counts.append(float(line.split()[1]))
        return counts


def start_proxied(tmp_path: Path, pg_url: str, redis_prefix: str,
                  extra: dict | None = None) -> tuple[Proxied, list]:
    nginx_binary()  # fail (CI) or skip before starting anything
    env = {"KEHAI_DATABASE_URL": pg_url, "KEHAI_REDIS_URL": REDIS_URL,
           "KEHAI_REDIS_PREFIX": redis_prefix, "KEHAI_SECRET_KEY": "s-" + redis_prefix,
           **(extra or {})}
    started: list = []
    nodes = [Server(tmp_path / f"node{n}", env=env).start() for n in range(2)]
    started += nodes
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(chain))
    for extra_pem in cert.cert_chain_pems[1:]:
        extra_pem.write_to_path(str(chain), append=True)
    cert.private_key_pem.write_to_path(str(key))
    nginx = Nginx(tmp_path / "nginx", [n.port for n in nodes], chain, key).start()
    started.append(nginx)
    tls = ssl.create_default_context()
    ca.configure_trust(tls)
    return Proxied(nginx, nodes, tls), started


@pytest.fixture
def proxied(tmp_path, pg_url, redis_prefix) -> Iterator[Proxied]:
    proxy, started = start_proxied(tmp_path, pg_url, redis_prefix)
    try:
        yield proxy
    finally:
        for thing in reversed(started):
            thing.stop()


class Stream:
    """One /sse through the proxy, keeping (arrival time, event) pairs."""

    def __init__(self, proxy: Proxied, person: Person, last_event_id: str | None = None):
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self.client = httpx.AsyncClient(base_url=proxy.nginx.url, verify=proxy.tls,
                                        http2=True, cookies=person.cookies(), headers=headers,
                                        timeout=httpx.Timeout(10, read=60))
        self.events: list[tuple[float, object]] = []
        self.version = ""
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async with aconnect_sse(self.client, "GET", "/sse") as source:
            self.version = source.response.http_version
            async for event in source.aiter_sse():
                if event.data:
                    self.events.append((time.monotonic(), event))

    async def wait_for(self, text: str, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for arrived, event in self.events:
                if text in event.data:
                    return arrived, event
            assert not self.task.done(), self.task.exception()
            await asyncio.sleep(0.005)
        raise AssertionError(f"no event with {text!r}: {[e.data for _, e in self.events]}")

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await self.task
        await self.client.aclose()


async def test_events_pass_at_once_and_a_stream_resumes_on_the_other_upstream(proxied):
    alice, bob = proxied.person("alice"), proxied.person("bob")
    assert alice.http.get("/").http_version == "HTTP/2"
    cid = alice.start_direct("bob")  # a POST through the proxy: Origin and Host agree
    stream = Stream(proxied, bob)
    await stream.wait_for('data-event="resync"')
    assert stream.version == "HTTP/2"
    first_node = proxied.streams_on().index(1)

    assert alice.send(cid, "through nginx").status_code == 201
    published = time.monotonic()  # the POST answers once the event is published
    arrived, seen = await stream.wait_for("through nginx")
    print(f"first event through nginx: {(arrived - published) * 1000:.1f} ms after the POST")
    assert arrived - published < 0.2  # not held in a proxy buffer
    await stream.close()

    alice.send(cid, "missed one")
    alice.send(cid, "missed two")
    for _attempt in range(10):  # nginx picks the upstream: resume until the other one serves
        resumed = Stream(proxied, bob, last_event_id=seen.id)
        await resumed.wait_for("missed two")
        on = proxied.streams_on()
        if on[1 - first_node] == 1:
            break
        await resumed.close()
    else:
        pytest.fail("nginx never sent the resumed stream to the other upstream")
    texts = [e.data for _, e in resumed.events]
    assert not any('data-event="resync"' in t for t in texts)
    missed = [t for t in texts if "missed" in t]
    assert "missed one" in missed[0] and "missed two" in missed[1] and len(missed) == 2
    await resumed.close()


def test_the_session_cookie_is_secure_behind_the_tls_proxy(tmp_path, pg_url, redis_prefix):
    proxy, started = start_proxied(tmp_path, pg_url, redis_prefix,
                                   {"KEHAI_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        person = proxy.person("carol", register=False)
        person.refresh_csrf("/register")
        r = person.http.post("/register", data={
            "username": "carol", "display_name": "Carol", "password": person.password,
            "csrf_token": person.csrf})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "kehai_session=" in cookie and "Secure" in cookie
    finally:
        for thing in reversed(started):
            thing.stop()
