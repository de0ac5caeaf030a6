"""POST /c/<id>/typing: the composer says its user is (or is no longer) typing."""

from __future__ import annotations

from quart import Blueprint, g, request, session

from app.i18n import gettext as _
from app.limits import Limits, Rule
from app.typists import Typing
from app.web.guards import CONVERSATION, conversation_or_404, login_required
from app.web.params import bounded_int


class TypingRoutes:
    def __init__(self, typing: Typing, limits: Limits, rule: Rule) -> None:
        self.typing = typing
        self.limits = limits
        self.rule = rule

    def blueprint(self) -> Blueprint:
        bp = Blueprint("typing", __name__)
        bp.add_url_rule(f"{CONVERSATION}/typing", "typing", login_required(self.post),
                        methods=["POST"])
        return bp

    async def post(self, conversation_id: int) -> tuple[str, int]:
        await conversation_or_404(conversation_id)
        form = await request.form
        # An empty composer (cleared, or the tab is leaving) stops typing; it never starts it.
        if not form.get("body", "").strip() or form.get("state") == "stop":
            self.typing.stop(conversation_id, g.user.id)
            return "", 204
        await self.limits.enforce(f"typing:{g.user.id}:{conversation_id}", self.rule,
                                  _("Slow down a little."))
        seq = bounded_int(form, "seq", 0, 10**18) or 0
        if self.typing.is_late(conversation_id, g.user.id, session.get("sid", ""), seq):
            return "", 204  # sent before the message that already ended it (a slow link)
        self.typing.start(conversation_id, g.user.id)
        return "", 204
