"""GET /sse through Quart: one stream per tab carrying everything its user may see.

`python run.py` serves /sse through the lean ASGI handler in app/realtime/asgi_sse.py
instead (same admission and stream code, without Quart's per-request machinery); this route
serves the test client and any deployment that mounts the Quart app alone.
"""

from __future__ import annotations

from quart import Blueprint, Response, g, request, session

from app.i18n import current
from app.realtime.streaming import admit, events
from app.services import services

bp = Blueprint("stream", __name__)


@bp.get("/sse")
async def sse() -> Response:
    user = g.get("user")
    kehai = services()
    refusal = await admit(kehai, user.id if user else None)
    if refusal is not None:
        response = Response(refusal.message + "\n", status=refusal.status,
                            mimetype="text/plain")
        if refusal.retry_after:
            response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    resume = request.headers.get("Last-Event-ID")
    if resume is None:
        resume = request.args.get("since")  # the id the page was rendered at
    response = Response(
        events(kehai.hub, user.id, session.get("sid", ""), current(), resume,
               request.args.get("tab", "")[:64]),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )
    response.timeout = None  # this route only: the stream lives until it ends itself
    return response
