"""A client that stops reading is cut within the write timeout: its stream slot is freed;
a client that reads on is untouched."""

from __future__ import annotations

import asyncio
import re
import socket
import time

import httpx

from tests.support import Person, Server

OPEN = re.compile(r"^kehai_open_streams (\d+)", re.M)


def open_streams(server: Server) -> int:
    found = OPEN.search(httpx.get(server.url + "/metrics", timeout=5).text)
    return int(found.group(1)) if found else -1


def stalled_stream(server: Server, person: Person) -> socket.socket:
    """GET /sse from a client that reads the headers and then nothing, with a tiny window."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    cookie = "; ".join(f"{k}={v}" for k, v in person.cookies().items())
    sock.sendall(f"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode())
    assert b" 200 " in sock.recv(256)
    return sock


async def test_a_client_that_stops_reading_is_cut_and_its_slot_freed(tmp_path, listen):
    # a queue too big to overflow: what cuts the stream is the write timeout itself
    tuning = {"write_timeout_s": 1.0, "message_limit": [10_000, 1.0], "queue_size": 100_000}
    server = Server(tmp_path / "srv", tuning=tuning).start()
    try:
        alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
        cid = alice.start_direct("bob")
        reader = await listen(alice)  # alice reads everything: never cut
        sock = stalled_stream(server, bob)
        assert open_streams(server) == 2
        began = time.monotonic()
        body = "x" * 3900
        for n in range(400):  # far more than the socket buffers hold
            assert alice.send(cid, f"{n} {body}").status_code == 201
            if open_streams(server) == 1:
                break
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if open_streams(server) == 1:
                break
            await asyncio.sleep(0.2)
        assert open_streams(server) == 1, "the stalled stream was never cut"
        print(f"cut {time.monotonic() - began:.1f} s after the flood began")
        # Whichever comes first cuts it: the kernel (TCP_USER_TIMEOUT: a zero window for
        # longer than the timeout) or the app's own write timeout (tests/test_write_timeout.py).
        assert not reader.ended.is_set()
        sock.close()
    finally:
        server.stop()
