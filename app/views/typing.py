"""POST /c/<id>/typing: the composer says its user is (or is no longer) typing."""

from __future__ import annotations

from quart import Blueprint, abort, g, request
from werkzeug.exceptions import TooManyRequests

from app.auth import login_required
from app.db import run_db
from app.i18n import gettext as _
from app.models import Membership
from app.ratelimit import retry_after_header
from app.services import services
from app.views import CONVERSATION

bp = Blueprint("typing", __name__)


@bp.post(f"{CONVERSATION}/typing")
@login_required
async def typing(conversation_id: int) -> tuple[str, int]:
    if await run_db(Membership.find, conversation_id, g.user.id) is None:
        abort(404, _("There is nothing here, or you are not a member of it."))
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
    tracker.start(conversation_id, g.user.id)
    return "", 204
