"""The one SSE frame every Python peer sends: `id:` and a `data:` line per body line."""

from __future__ import annotations


def sse_frame(event_id: int, body: bytes) -> bytes:
    lines = b"".join(b"data: " + line + b"\n" for line in body.split(b"\n"))
    return b"id: %d\n%s\n" % (event_id, lines)
