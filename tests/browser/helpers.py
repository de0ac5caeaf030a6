"""Helpers for browser tests: waiting on the page's stream, and using the composer."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from typing import Any

import httpx

TIMEOUT_MS = 5_000
# Waiting for a page's stream to (re)connect is readiness, not a timing claim: a loaded CI
# machine starting Chromium and a fresh server can take several seconds.
CONNECT_TIMEOUT_MS = 15_000
COMPOSER = "#composer textarea[name=body]"
ROLE = "() => document.getElementById('stream')?.dataset.role || ''"  # "leader": reads /sse


def messages_by(page: Any, username: str) -> Any:
    return page.locator(f"#messages [data-message-id][data-author={username}]")


def send_from(page: Any, text: str) -> None:
    """Type into the composer like a person and press Enter."""
    box = page.locator(COMPOSER)
    box.click()
    box.press_sequentially(text)
    box.press("Enter")


def stream_connected(page: Any, at_least: int = 1, timeout_ms: int = CONNECT_TIMEOUT_MS) -> None:
    """Wait until the page has gone live `at_least` times: its browser's shared stream said
    hello/resync (the tab leads), or the leading tab let it join (the tab follows)."""
    page.wait_for_function(
        "(n) => window.__kehaiSse && __kehaiSse.connections >= n", arg=at_least,
        timeout=timeout_ms)


def streamed_message(page: Any, message_id: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the page has swapped the stream's copy of a message."""
    page.wait_for_function(
        "(id) => __kehaiSse.events.some((e) => e.kind === 'new-message' && e.messageId === id)",
        arg=message_id, timeout=timeout_ms)


def open_streams(live: Any) -> int:
    metrics = httpx.get(live.url + "/metrics", timeout=10, verify=live.server.verify).text
    found = re.search(r"^kehai_open_streams (\d+)", metrics, re.M)
    assert found, metrics[:500]
    return int(found.group(1))


def open_tabs(first: Any, n: int, path: str) -> list[Any]:
    """`n` tabs of one browser (the first page's context) on `path`, each live."""
    pages = [first] + [first.context.new_page() for _ in range(n - 1)]
    for page in pages:
        page.goto(path)
    for page in pages:
        stream_connected(page)
    return pages


class TcpProxy:
    """A local TCP relay in front of the server, so a test can cut one browser's network.

    Playwright's `set_offline` does not end a fetch stream that is already open (checked with
    Chromium 156: the stream kept delivering), so a cut is made here instead: `cut()` drops every
    relayed connection and refuses new ones until `restore()`.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.is_cut = False
        self.accepted = 0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.is_cut:
                _drop(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                _drop(client)
                continue
            with self._lock:
                self.accepted += 1
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                _drop(s)
            with self._lock:
                self._sockets.difference_update((source, sink))

    def cut(self) -> None:
        self.is_cut = True
        with self._lock:
            doomed = list(self._sockets)
        for s in doomed:
            _drop(s)

    def restore(self) -> None:
        self.is_cut = False

    def close(self) -> None:
        self.cut()
        _drop(self.listener)


def _drop(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
