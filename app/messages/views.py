"""POST /c/<id>/messages: validate, persist first, then broadcast; and edits and deletes of
one's own messages (…/messages/<id>/edit, …/delete)."""

from __future__ import annotations

import re

from quart import Blueprint, abort, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WResponse

from app.db import run_db
from app.i18n import gettext as _
from app.limits import COUNTED, Limits, Rule
from app.messages import Composer, Messages, edits
from app.models import Conversation, Message
from app.models.message import MAX_BODY, quotable
from app.web.guards import CONVERSATION, conversation_or_404, login_required
from app.web.params import MAX_ID, bounded_int

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MESSAGE = f"{CONVERSATION}/messages/<int(max={MAX_ID}):message_id>"


def problem(body: str, client_id: str | None = None) -> str | None:
    """Why a message (or an edit) cannot be stored, for the page to show; None if it can."""
    if not body:
        return _("Write something before sending.")
    if len(body) > MAX_BODY:
        return _("A message can be at most 4,000 characters (this one has %(n)s).",
                 n=f"{len(body):,}")
    if client_id is not None and not CLIENT_ID.match(client_id):
        return _("That message could not be sent. Reload the page and try again.")
    return None


def repliable(message: Message | None) -> str | None:
    """Why a message cannot be replied to, for the page to show; None if it can. `message`
    is the one the form names, looked up in the room it is sent to (another room's: None)."""
    if message is None:
        return _("That message is not in this conversation.")
    if message.deleted is not None:
        return _("That message was deleted, so it can no longer be replied to.")
    if message.system:
        return _("That line cannot be replied to.")
    return None


def _validated(body: str, client_id: str | None = None) -> None:
    refused = problem(body, client_id)
    if refused is not None:
        abort(422, refused)


def _refuse(refused: edits.Refused) -> None:
    if refused is edits.Refused.NOT_YOURS:
        abort(403, _("You can only change your own messages."))
    if refused is edits.Refused.DELETED:
        abort(409, _("That message was deleted, so it can no longer be edited."))
    abort(404, _("That message is not in this conversation."))


class MessageRoutes:
    def __init__(self, messages: Messages, limits: Limits, rule: Rule) -> None:
        self.messages = messages
        self.limits = limits
        self.rule = rule

    def blueprint(self) -> Blueprint:
        bp = Blueprint("messages", __name__)
        bp.add_url_rule(f"{CONVERSATION}/messages", "create", login_required(self.create),
                        methods=["POST"])
        bp.add_url_rule(f"{MESSAGE}/edit", "edit", login_required(self.edit), methods=["POST"])
        bp.add_url_rule(f"{MESSAGE}/delete", "delete", login_required(self.delete),
                        methods=["POST"])
        return bp

    async def _limit(self) -> None:
        key, message = f"messages:{g.user.id}", _(
            "You are sending messages too fast. Wait a moment and try again.")
        counted = request.scope.get(COUNTED)
        if counted is not None and counted.key == key:  # by the lean handler (messages/lean.py)
            self.limits.refuse(counted.wait, message)
        else:
            await self.limits.enforce(key, self.rule, message)

    async def create(self, conversation_id: int) -> WResponse | tuple[str, int]:
        conversation = await conversation_or_404(conversation_id)
        form = await request.form
        body = form.get("body", "").strip()
        client_id = form.get("client_id", "").strip() or None
        _validated(body, client_id)
        reply_to = None
        if form.get("reply_to", "").strip():
            reply_id = bounded_int(form, "reply_to", 1, MAX_ID, clamp=False)
            reply_to = await run_db(quotable, reply_id, conversation_id) if reply_id else None
            refused = repliable(reply_to)
            # A retry of a reply already stored (its original deleted since) gets it back.
            if refused is not None and not (client_id and await run_db(
                    Message.sent_before, g.user.id, conversation_id, client_id)):
                abort(422, refused)
            reply_to = reply_to if refused is None else None
        await self._limit()
        composer = Composer(session.get("sid", ""),
                            bounded_int(form, "typing_seq", 0, 10**18) or 0)
        sent = await self.messages.send(conversation, g.user, body, client_id, composer,
                                        reply_to)
        if "HX-Request" not in request.headers:
            return redirect(url_for("conversations.show", conversation_id=conversation_id), 303)
        page = await self.messages.reply(sent)
        return page, 201 if sent.created else 200

    async def edit(self, conversation_id: int, message_id: int) -> WResponse | tuple[str, int]:
        conversation = await conversation_or_404(conversation_id)
        body = (await request.form).get("body", "").strip()
        _validated(body)
        await self._limit()
        change = await run_db(edits.edit, conversation, g.user, message_id, body)
        return await self._changed(conversation, change)

    async def delete(self, conversation_id: int, message_id: int
                     ) -> WResponse | tuple[str, int]:
        conversation = await conversation_or_404(conversation_id)
        await self._limit()
        change = await run_db(edits.delete, conversation, g.user, message_id)
        return await self._changed(conversation, change)

    async def _changed(self, conversation: Conversation, change: edits.Change | edits.Refused
                       ) -> WResponse | tuple[str, int]:
        if isinstance(change, edits.Refused):
            _refuse(change)
        assert isinstance(change, edits.Change)
        await self.messages.announce_change(change.message, conversation, change.row)
        if "HX-Request" not in request.headers:
            return redirect(url_for("conversations.show", conversation_id=conversation.id), 303)
        page = await render_template("messages/_changed.html", m=change.message,
                                     conversation=conversation)
        return page, 200
