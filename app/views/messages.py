"""Sending a message: validate, persist first, then broadcast."""

from __future__ import annotations

import re

from quart import Blueprint, abort, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as WResponse

from app import broadcasts
from app.auth import login_required
from app.db import run_db
from app.i18n import gettext as _
from app.models import Message
from app.models.message import MAX_BODY
from app.ratelimit import retry_after_header
from app.services import services
from app.views import CONVERSATION, conversation_or_404
from app.views.typing import sequence

bp = Blueprint("messages", __name__)
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@bp.post(f"{CONVERSATION}/messages")
@login_required
async def create(conversation_id: int) -> WResponse | tuple[str, int]:
    conversation = await conversation_or_404(conversation_id)
    form = await request.form
    body = form.get("body", "").strip()
    client_id = form.get("client_id", "").strip() or None
    if not body:
        abort(422, _("Write something before sending."))
    if len(body) > MAX_BODY:
        abort(422, _("A message can be at most 4,000 characters (this one has %(n)s).",
                     n=f"{len(body):,}"))
    if client_id is not None and not CLIENT_ID.match(client_id):
        abort(422, _("That message could not be sent. Reload the page and try again."))
    wait = await services().limiter.hit(f"messages:{g.user.id}", *services().config.message_limit)
    if wait is not None:
        raise TooManyRequests(_("You are sending messages too fast. Wait a moment and try again."),
                              retry_after=int(retry_after_header(wait)))
    message, created = await run_db(Message.post, conversation, g.user, body, client_id)
    # The typing indicator ends before the message goes out, never after it.
    await _after_send(conversation_id, sequence(form.get("typing_seq", "")))
    if created:
        await broadcasts.message_created(message, conversation)
    if "HX-Request" not in request.headers:
        return redirect(url_for("conversations.show", conversation_id=conversation_id), 303)
    page = await render_template("messages/_sent.html", m=message, conversation=conversation,
                                 reads=None)
    return page, 201 if created else 200


async def _after_send(conversation_id: int, typing_seq: int) -> None:
    """Sending clears the sender's typing indicator (hook filled by the typing feature)."""
    for hook in services().extras.get("after_send", []):
        await hook(g.user, conversation_id, session.get("sid", ""), typing_seq)
