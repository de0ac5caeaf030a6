"""Server-Sent Events framing: pure functions, no I/O.

Every line of the payload goes on its own `data:` line (multi-line HTML survives), lines end
in LF only, and any CR in user text is treated as a line break so it can never end a field
early or smuggle in a field of its own.
"""

from __future__ import annotations

import re

_LINES = re.compile(r"\r\n|\r|\n")


def _clean(value: str) -> str:
    """A field value on one line: no CR/LF/NUL can escape into the frame."""
    return _LINES.sub(" ", value).replace("\0", "")


def frame(
    data: str,
    *,
    event_id: str | None = None,
    event: str | None = None,
    retry_ms: int | None = None,
) -> bytes:
    """One complete event, terminated by the blank line that dispatches it."""
    parts: list[str] = []
    if event_id is not None:
        parts.append(f"id: {_clean(event_id)}\n")
    if event is not None:
        parts.append(f"event: {_clean(event)}\n")
    if retry_ms is not None:
        parts.append(f"retry: {int(retry_ms)}\n")
    for line in _LINES.split(data.replace("\0", "")):
        parts.append(f"data: {line}\n" if line else "data:\n")
    parts.append("\n")
    return "".join(parts).encode()


def comment(text: str = "") -> bytes:
    """A comment line: keeps proxies and the client's read loop alive, dispatches nothing."""
    return f": {_clean(text)}\n\n".encode()
