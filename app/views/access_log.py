"""One access line per request: method, path, status, duration and the signed-in user.
Streams on /sse are logged by the stream itself (open and close, app/realtime/stream_log.py)."""

from __future__ import annotations

import time
from typing import Any

from quart import Quart, g, request

from app.logs import access_line


async def _start() -> None:
    g.access_began = time.perf_counter()


async def _done(response: Any) -> Any:
    began = g.get("access_began")
    duration_ms = round((time.perf_counter() - began) * 1000, 1) if began else 0.0
    user = g.get("user")
    user_id = user.id if user is not None else None
    access_line(request.method, request.path, response.status_code, duration_ms, user_id)
    return response


def install_access_log(app: Quart) -> None:
    """Install before the other hooks: the clock starts before CSRF and session checks, and
    the line is written after every other after_request hook (Quart runs those in reverse)."""
    app.before_request(_start)
    app.after_request(_done)
