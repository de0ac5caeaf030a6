"""GET /sse is served natively on the app's own port (app/realtime/native_http.py) and every
other request still by Hypercorn: what a browser would notice if the hand-over went wrong."""

from __future__ import annotations

import asyncio
import socket
import time

from tests.support import Person, Server


def _read_response(sock: socket.socket, until: bytes, limit_s: float = 10) -> bytes:
    sock.settimeout(limit_s)
    data = b""
    deadline = time.monotonic() + limit_s
    while until not in data and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _headers(response: bytes) -> dict[str, str]:
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head)}


def test_a_page_then_a_stream_on_one_keep_alive_connection_are_both_answered(server: Server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        page = _read_response(sock, b"</html>")
        assert page.startswith(b"HTTP/1.1 200"), page[:200]
        # the same connection, now asking for the stream without a session: Hypercorn's
        # lean handler answers it, with the same security headers as the page
        sock.sendall(b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        refused = _read_response(sock, b"sign in")
    assert refused.startswith(b"HTTP/1.1 401"), refused[:200]
    page_h, sse_h = _headers(page), _headers(refused)
    for name in ("content-security-policy", "x-content-type-options", "x-frame-options"):
        assert sse_h[name] == page_h[name]


def test_a_stream_whose_request_arrives_in_pieces_opens_natively(server: Server):
    alice = Person(server.url, "alice")
    cookie = alice.cookies()["kehai_session"]
    head = (f"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            f"Cookie: kehai_session={cookie}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        for i in range(0, len(head), 7):  # a slow client: the head in small pieces
            sock.sendall(head[i : i + 7])
            time.sleep(0.005)
        opened = _read_response(sock, b"\n\n")
    assert opened.startswith(b"HTTP/1.1 200"), opened[:300]
    headers = _headers(opened)
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["x-accel-buffering"] == "no"
    assert headers["content-security-policy"]
    assert b"retry: 2000" in opened


def test_a_stream_refused_natively_says_why(server: Server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        refused = _read_response(sock, b"sign in")
    assert refused.startswith(b"HTTP/1.1 401"), refused[:200]
    assert _headers(refused)["content-length"] == str(len(refused.split(b"\r\n\r\n", 1)[1]))
    assert refused.endswith(b"Please sign in again.\n")


async def test_streams_opening_together_each_belong_to_their_own_session(server: Server, listen):
    # A reconnect storm's admissions share session lookups: each stream must still be its own
    # user's, and a revoked session's stream is refused even among live ones.
    alice, bob, carol, dave = (Person(server.url, n) for n in ("alice", "bob", "carol", "dave"))
    cid = dave.start_direct("alice")
    revoked = carol.cookies()["kehai_session"]
    assert carol.post("/logout", htmx=False).status_code == 303
    carol.http.cookies.clear()
    carol.http.cookies.set("kehai_session", revoked)
    streams = await asyncio.gather(*(listen(p) for _ in range(6) for p in (alice, bob, carol)))
    by_person = {p: [s for s in streams if s.person is p] for p in (alice, bob, carol)}
    assert [s.status for s in by_person[alice] + by_person[bob]] == [200] * 12
    assert [s.status for s in by_person[carol]] == [401] * 6
    dave.send(cid, "to alice only")
    for s in by_person[alice]:
        await s.wait_text("to alice only")
