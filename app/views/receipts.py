"""POST /c/<id>/read: move the reader's watermark forward and tell who needs to know."""

from __future__ import annotations

from quart import Blueprint, abort, g, request

from app import broadcasts
from app.auth import login_required
from app.db import run_db
from app.i18n import gettext as _
from app.models import Membership, Message
from app.views import CONVERSATION, conversation_or_404

bp = Blueprint("receipts", __name__)


def _advance(conversation_id: int, user_id: int, up_to: int) -> tuple[bool, int, int] | None:
    """(moved, previous watermark, new watermark); None if the message is not in here."""
    membership = Membership.find(conversation_id, user_id)
    if membership is None:
        return None
    if Message.in_conversation(up_to, conversation_id) is None:
        return (False, membership.last_read_message_id, -1)
    before = membership.last_read_message_id
    moved = Membership.advance(conversation_id, user_id, up_to)
    return moved, before, max(before, up_to)


@bp.post(f"{CONVERSATION}/read")
@login_required
async def read(conversation_id: int) -> tuple[str, int]:
    await conversation_or_404(conversation_id)
    form = await request.form
    raw = form.get("up_to", "").strip()
    # ASCII digits only: "²" or "١" pass str.isdigit() but int() refuses them (a 500).
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        abort(422, _("up_to must be a message id."))
    result = await run_db(_advance, conversation_id, g.user.id, int(raw))
    if result is None:
        abort(404)
    moved, before, after = result
    if after < 0:
        abort(422, _("That message is not in this conversation."))
    if moved:  # backwards or repeated marks change nothing and tell nobody
        await broadcasts.messages_read(conversation_id, g.user, before, after)
    return "", 204
