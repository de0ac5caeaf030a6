"""Helpers for browser tests: waiting on the page's stream, and using the composer."""

from __future__ import annotations

from typing import Any

TIMEOUT_MS = 5_000
COMPOSER = "#composer textarea[name=body]"


def messages_by(page: Any, username: str) -> Any:
    return page.locator(f"#messages [data-message-id][data-author={username}]")


def send_from(page: Any, text: str) -> None:
    """Type into the composer like a person and press Enter."""
    box = page.locator(COMPOSER)
    box.click()
    box.press_sequentially(text)
    box.press("Enter")


def stream_connected(page: Any, at_least: int = 1, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the page's SSE stream has connected `at_least` times and said hello/resync."""
    page.wait_for_function(
        """(n) => window.__kehaiSse && __kehaiSse.connections >= n
               && __kehaiSse.events.some((e) => e.kind === "hello" || e.kind === "resync")""",
        arg=at_least, timeout=timeout_ms)


def streamed_message(page: Any, message_id: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the page has swapped the stream's copy of a message."""
    page.wait_for_function(
        "(id) => __kehaiSse.events.some((e) => e.kind === 'new-message' && e.messageId === id)",
        arg=message_id, timeout=timeout_ms)
