"""POST /c/<id>/read: move the reader's watermark forward and tell who needs to know."""

from __future__ import annotations

from quart import Blueprint, abort, g, request

from app.db import run_db
from app.i18n import gettext as _
from app.receipts import Receipts, advance
from app.web.guards import CONVERSATION, conversation_or_404, login_required
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
        read = await run_db(advance, conversation_id, g.user, up_to)
        if read is None:  # membership was checked above (404): the message is elsewhere
            abort(422, _("That message is not in this conversation."))
        await self.receipts.announce(conversation_id, g.user, read)  # backwards: tells nobody
        return "", 204
