"""Managing a group: its settings page, renaming it, adding and removing members, leaving.

Who may do what follows LINE's groups, which most of our people know: every member is equal.
Any member may rename the group, add people and remove a member; anyone may leave. (Slack and
WhatsApp keep removal for admins; a group here has no admins to lose or hand over.) Direct
chats are never managed: they are one pair, for good.
"""

from __future__ import annotations

from quart import Blueprint, abort, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WResponse

from app.db import run_db
from app.groups import store
from app.i18n import gettext as _
from app.kehai import kehai
from app.models import Conversation, Membership, User
from app.views.conversations import sidebar_context
from app.views.group_forms import FormProblem, clean_title, people, usernames
from app.web.guards import CONVERSATION, conversation_or_404, login_required

bp = Blueprint("groups", __name__)


async def _group_or_422(conversation_id: int) -> Conversation:
    """Membership first (404 for outsiders), then: only a group can be managed (422)."""
    conversation = await conversation_or_404(conversation_id)
    if conversation.is_direct:
        abort(422, _("A direct chat cannot be renamed and has no members to manage."))
    return conversation


async def _page(conversation: Conversation, error: str | None = None,
                status: int = 200) -> tuple[str, int]:
    members = await run_db(Membership.members, conversation.id)
    page = await render_template(
        "conversations/settings.html", conversation=conversation, members=members,
        error=error, active_id=conversation.id, saved=request.args.get("saved"),
        **await sidebar_context(*members))
    return page, status


def _back(conversation: Conversation) -> WResponse:
    return redirect(url_for("groups.settings", conversation_id=conversation.id, saved=1), 303)


async def _limit(me: User) -> None:
    await kehai().limits.enforce(f"groups:{me.id}", kehai().config.conversation_limit,
                                 _("You are changing groups too fast. Wait a little."))


@bp.get(f"{CONVERSATION}/settings")
@login_required
async def settings(conversation_id: int) -> tuple[str, int]:
    conversation = await conversation_or_404(conversation_id)
    if conversation.is_direct:
        abort(404, _("A direct chat cannot be renamed and has no members to manage."))
    return await _page(conversation)


@bp.post(f"{CONVERSATION}/title")
@login_required
async def rename(conversation_id: int) -> WResponse | tuple[str, int]:
    conversation = await _group_or_422(conversation_id)
    try:
        title = clean_title((await request.form).get("title", ""))
    except FormProblem as problem:
        return await _page(conversation, str(problem), 422)
    await _limit(g.user)
    await kehai().groups.publish(await run_db(store.rename, conversation.id, g.user.id, title))
    return _back(conversation)


@bp.post(f"{CONVERSATION}/members")
@login_required
async def add(conversation_id: int) -> WResponse | tuple[str, int]:
    conversation = await _group_or_422(conversation_id)
    try:
        found = await people(usernames((await request.form).get("members", ""), g.user))
    except FormProblem as problem:
        return await _page(conversation, str(problem), 422)
    await _limit(g.user)
    await kehai().groups.publish(await run_db(store.add, conversation.id, g.user.id, found))
    return _back(conversation)


@bp.post(f"{CONVERSATION}/members/remove")
@login_required
async def remove(conversation_id: int) -> WResponse | tuple[str, int]:
    conversation = await _group_or_422(conversation_id)
    name = (await request.form).get("username", "").strip().lower()[:64]
    person = await run_db(User.by_username, name) if name else None
    if person is None or await run_db(Membership.find, conversation.id, person.id) is None:
        return await _page(conversation, _("“%(name)s” is not in this group.", name=name), 422)
    await _limit(g.user)
    await kehai().groups.publish(await run_db(store.remove, conversation.id, g.user.id,
                                              person.id))
    if person.id == g.user.id:
        return redirect(url_for("conversations.index"), 303)
    return _back(conversation)


@bp.post(f"{CONVERSATION}/leave")
@login_required
async def leave(conversation_id: int) -> WResponse:
    conversation = await _group_or_422(conversation_id)
    await kehai().groups.publish(await run_db(store.remove, conversation.id, g.user.id,
                                              g.user.id))
    return redirect(url_for("conversations.index"), 303)
