"""One log line when a stream opens and one when it closes, with how long it lasted and why
it ended (Connection.closing: "close" for a logout, "shutdown", "lifetime", ...)."""

from __future__ import annotations

import logging
import time

from app.realtime.connection import Connection

log = logging.getLogger("kehai.stream")


def opened(conn: Connection, resume: str | None) -> float:
    log.info("stream %d open user=%s resume=%s", conn.id, conn.user_id, resume or "-",
             extra={"stream": conn.id, "user_id": conn.user_id, "resume": resume})
    return time.monotonic()


def closed(conn: Connection, began: float) -> None:
    reason = conn.closing or ("overflow" if conn.overflowed else "client gone")
    seconds = round(time.monotonic() - began, 1)
    log.info("stream %d closed user=%s after %.1f s: %s", conn.id, conn.user_id, seconds,
             reason, extra={"stream": conn.id, "user_id": conn.user_id,
                            "duration_s": seconds, "reason": reason})
