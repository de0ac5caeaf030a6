"""POST /c/<id>/messages: validate, persist first, then broadcast."""

from __future__ import annotations

import re

from quart import Blueprint, abort, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WResponse

from app.i18n import gettext as _
from app.limits import Limits, Rule
from app.messages import Composer, Messages
from app.models.message import MAX_BODY
from app.web.guards import CONVERSATION, conversation_or_404, login_required
from app.web.params import bounded_int

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _validated(body: str, client_id: str | None) -> None:
    if not body:
        abort(422, _("Write something before sending."))
    if len(body) > MAX_BODY:
        abort(422, _("A message can be at most 4,000 characters (this one has %(n)s).",
                     n=f"{len(body):,}"))
    if client_id is not None and not CLIENT_ID.match(client_id):
        abort(422, _("That message could not be sent. Reload the page and try again."))


class MessageRoutes:
    def __init__(self, messages: Messages, limits: Limits, rule: Rule) -> None:
        self.messages = messages
        self.limits = limits
        self.rule = rule

    def blueprint(self) -> Blueprint:
        bp = Blueprint("messages", __name__)
        bp.add_url_rule(f"{CONVERSATION}/messages", "create", login_required(self.create),
                        methods=["POST"])
        return bp

    async def create(self, conversation_id: int) -> WResponse | tuple[str, int]:
        conversation = await conversation_or_404(conversation_id)
        form = await request.form
        body = form.get("body", "").strip()
        client_id = form.get("client_id", "").strip() or None
        _validated(body, client_id)
        await self.limits.enforce(
            f"messages:{g.user.id}", self.rule,
            _("You are sending messages too fast. Wait a moment and try again."))
        composer = Composer(session.get("sid", ""),
                            bounded_int(form, "typing_seq", 0, 10**18) or 0)
        message, created = await self.messages.send(conversation, g.user, body, client_id,
                                                    composer)
        if "HX-Request" not in request.headers:
            return redirect(url_for("conversations.show", conversation_id=conversation_id), 303)
        page = await render_template("messages/_sent.html", m=message, conversation=conversation,
                                     reads=None)
        return page, 201 if created else 200
