"""Plain HTTP/1.1 requests are served natively on the app's own port
(app/realtime/native_http.py), one after another on a kept-alive connection, and the first
request that is not plain hands the connection to Hypercorn: what a browser would notice if
either side, or the hand-over, went wrong."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlencode

import pytest

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


class Responses:
    """HTTP/1.1 responses read one by one off a socket, framed by their own headers."""

    def __init__(self, sock: socket.socket, limit_s: float = 10) -> None:
        self.sock = sock
        self.data = b""
        sock.settimeout(limit_s)

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, f"the server closed the connection; unread: {self.data[:200]!r}"
        self.data += chunk

    def _take(self, n: int) -> bytes:
        while len(self.data) < n:
            self._more()
        out, self.data = self.data[:n], self.data[n:]
        return out

    def _line(self) -> bytes:
        while b"\r\n" not in self.data:
            self._more()
        line, self.data = self.data.split(b"\r\n", 1)
        return line

    def next(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.data:
            self._more()
        head, self.data = self.data.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        headers = _headers(head + b"\r\n\r\n")
        if head_only or status in (204, 304):
            return status, headers, b""
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self._line(), 16):
                body += self._take(size)
                self._take(2)
            self._take(2)
            return status, headers, body
        return status, headers, self._take(int(headers["content-length"]))

    def closed(self) -> bool:
        """The server ended the connection (within the socket's timeout)."""
        try:
            return not self.data and self.sock.recv(1) == b""
        except OSError:
            return True


def _listed(page: str) -> str:
    """The conversation's message list of a page (the sidebar also previews the last one)."""
    return page.split('id="messages"', 1)[1]


def _post(path: str, person: Person, form: dict[str, str], extra: str = "") -> bytes:
    body = urlencode(form).encode()
    cookie = person.cookies()["kehai_session"]
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nHX-Request: true\r\n"
            f"X-CSRF-Token: {person.csrf}\r\nCookie: kehai_session={cookie}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _get(path: str, person: Person | None = None, extra: str = "") -> bytes:
    cookie = f"Cookie: kehai_session={person.cookies()['kehai_session']}\r\n" if person else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}{extra}\r\n".encode()


def test_pipelined_pages_and_messages_on_one_connection_are_answered_in_order(server: Server):
    alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
    cid = alice.start_direct("bob")
    sends = [_post(f"/c/{cid}/messages", alice, {"body": f"note {i}", "client_id": f"pl-{i}"})
             for i in range(3)]
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        # a page, three messages and the page again, all written before any answer is read
        sock.sendall(_get(f"/c/{cid}", alice) + b"".join(sends) + _get(f"/c/{cid}", alice))
        replies = Responses(sock)
        first = replies.next()
        sent = [replies.next() for _ in sends]
        last = replies.next()
    assert first[0] == 200 and b"note 0" not in first[2]
    assert [status for status, _, _ in sent] == [201, 201, 201]
    for i, (_, _, page) in enumerate(sent):
        assert f"note {i}".encode() in page
    assert last[0] == 200
    page = _listed(last[2].decode())
    assert page.index("note 0") < page.index("note 1") < page.index("note 2")
    assert "server" not in last[1]  # answered here, not by Hypercorn
    assert _listed(bob.http.get(f"/c/{cid}").text).count("note 1") == 1


def test_a_request_that_is_not_plain_hands_the_connection_to_hypercorn_mid_way(server: Server):
    alice, _bob = Person(server.url, "alice"), Person(server.url, "bob")
    cid = alice.start_direct("bob")
    body = urlencode({"body": "chunked note", "client_id": "ch-1"}).encode()
    cookie = alice.cookies()["kehai_session"]
    chunked = (f"POST /c/{cid}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nHX-Request: true\r\n"
               f"X-CSRF-Token: {alice.csrf}\r\nCookie: kehai_session={cookie}\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode()
    chunked += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    plain = _post(f"/c/{cid}/messages", alice, {"body": "plain note", "client_id": "pl-1"})
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(plain + chunked + _get(f"/c/{cid}", alice))
        replies = Responses(sock)
        native, handed, page = replies.next(), replies.next(), replies.next()
    assert native[0] == 201 and "server" not in native[1]
    assert handed[0] == 201 and b"chunked note" in handed[2]
    assert "hypercorn" in handed[1]["server"]  # from here on, Hypercorn's connection
    assert page[0] == 200 and "hypercorn" in page[1]["server"]
    assert b"plain note" in page[2] and b"chunked note" in page[2]


def test_a_message_whose_body_arrives_in_pieces_is_stored_once(server: Server):
    alice, _bob = Person(server.url, "alice"), Person(server.url, "bob")
    cid = alice.start_direct("bob")
    request = _post(f"/c/{cid}/messages", alice, {"body": "おはよう & 100%", "client_id": "pc-1"})
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        for i in range(0, len(request), 40):  # a slow link: head and body in small pieces
            sock.sendall(request[i : i + 40])
            time.sleep(0.003)
        status, _, page = Responses(sock).next()
    assert status == 201 and "おはよう &amp; 100%" in page.decode()
    assert _listed(alice.http.get(f"/c/{cid}").text).count("おはよう &amp; 100%") == 1


def test_a_static_file_its_not_modified_answer_and_connection_close(server: Server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        replies = Responses(sock)
        sock.sendall(_get("/static/js/core.js"))
        status, headers, script = replies.next()
        assert status == 200 and len(script) == int(headers["content-length"]) > 1000
        assert b"URLSearchParams" in script
        tag = headers["etag"]
        # a revalidation answers with no body; the next request on the connection still works
        sock.sendall(_get("/static/js/core.js", extra=f"If-None-Match: {tag}\r\n")
                     + _get("/login", extra="Connection: close\r\n"))
        assert replies.next()[0] == 304
        status, headers, page = replies.next()
        assert status == 200 and page.rstrip().endswith(b"</html>")
        assert headers["connection"] == "close"
        assert replies.closed()


def test_a_malformed_head_is_refused_by_hypercorn_as_before(server: Server):
    for bad in (b"POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                b"Content-Length: 4\r\n\r\nabcd",
                b"GET /login HTTP/1.1\r\nHost: a\r\nX-Bad\x01: y\r\n\r\n",
                b"GET /login HTTP/1.1\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(bad)
            status, headers, _ = Responses(sock).next()
        assert status == 400, bad
        assert "hypercorn" in headers["server"]


def test_a_page_then_a_stream_on_one_keep_alive_connection_are_both_answered(server: Server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        page = _read_response(sock, b"</html>")
        assert page.startswith(b"HTTP/1.1 200"), page[:200]
        # the same connection, now asking for the stream without a session: the lean
        # handler answers it, with the same security headers as the page
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


def test_a_response_header_with_a_line_break_is_never_written():
    # Response splitting: a value (or name) carrying CR or LF would let it write headers or
    # a whole response of its own. The head is refused instead (the request gets a 500).
    from app.realtime.native_http import Exchange

    exchange = Exchange(None, b"", False)  # type: ignore[arg-type]
    head = exchange._head(200, [(b"X-Fine", b"yes")], b"ok", False)
    assert head.startswith(b"HTTP/1.1 200 OK\r\nx-fine: yes\r\ncontent-length: 2\r\n")
    for name, value in ((b"x-evil", b"a\r\nset-cookie: b=1"), (b"x-evil", b"a\nb"),
                        (b"x-evil", b"a\rb"), (b"x\r\nset-cookie", b"b=1")):
        with pytest.raises(ValueError, match="line break"):
            exchange._head(200, [(name, value)], b"", False)
