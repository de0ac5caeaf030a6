"""POST /c/<id>/read: move the reader's watermark forward and tell who needs to know."""

from __future__ import annotations

from quart import Blueprint, abort, g, request

from app.db import run_db
from app.i18n import gettext as _
from app.receipts import Receipts, advance
from app.web.guards import CONVERSATION, conversation_or_404, login_required, not_found
from app.web.params import MAX_ID, bounded_int


class ReceiptRoutes:
    def __init__(self, receipts: Receipts) -> None:
        self.receipts = receipts

    def blueprint(self) -> Blueprint:
        bp = Blueprint("receipts", __name__)
        bp.add_url_rule(f"{CONVERSATION}/read", "read", login_required(self.read),
                        methods=["POST"])
        return bp

    async def read(self, conversation_id: int) -> tuple[str, int]:
        await conversation_or_404(conversation_id)
        form = await request.form
        up_to = bounded_int(form, "up_to", 0, MAX_ID, clamp=False)
        if up_to is None:
            abort(422, _("up_to must be a message id."))
        result = await run_db(advance, conversation_id, g.user.id, up_to)
        if result is None:
            not_found()
        moved, before, after = result
        if after < 0:
            abort(422, _("That message is not in this conversation."))
        if moved:  # backwards or repeated marks change nothing and tell nobody
            await self.receipts.messages_read(conversation_id, g.user, before, after)
        return "", 204
