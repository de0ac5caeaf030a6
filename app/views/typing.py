"""POST /c/<id>/typing: the composer says its user is (or is no longer) typing."""

from __future__ import annotations

from quart import Blueprint, g, request, session
from werkzeug.exceptions import TooManyRequests

from app.auth import login_required
from app.i18n import gettext as _
from app.ratelimit import retry_after_header
from app.services import services
from app.views import CONVERSATION, conversation_or_404

bp = Blueprint("typing", __name__)


@bp.post(f"{CONVERSATION}/typing")
@login_required
async def typing(conversation_id: int) -> tuple[str, int]:
    await conversation_or_404(conversation_id)
    form = await request.form
    tracker = services().extras["typing"]
    # An empty composer (cleared, or the tab is leaving) stops typing; it never starts it.
    if not form.get("body", "").strip() or form.get("state") == "stop":
        tracker.stop(conversation_id, g.user.id)
        return "", 204
    limit = services().config.typing_limit
    wait = await services().limiter.hit(f"typing:{g.user.id}:{conversation_id}", *limit)
    if wait is not None:
        raise TooManyRequests(_("Slow down a little."), retry_after=int(retry_after_header(wait)))
    seq = sequence(form.get("seq", ""))
    if tracker.is_late(conversation_id, g.user.id, session.get("sid", ""), seq):
        return "", 204  # sent before the message that already ended it (a slow link)
    tracker.start(conversation_id, g.user.id)
    return "", 204


def sequence(raw: str) -> int:
    """The composer's number for a typing report or a send; 0 when absent or not a number."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else 0
