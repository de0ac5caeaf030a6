"""Settings: what others may see of you, and changing your password."""

from __future__ import annotations

from quart import Blueprint, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WResponse

from app.accounts import (
    clean_name,
    display_name_problem,
    hash_password,
    password_problem,
    verify_password,
)
from app.db import run_db
from app.groups.store import rename_person
from app.i18n import gettext as _
from app.kehai import kehai
from app.models import Session, User
from app.views.sessions import sign_in
from app.web.guards import login_required

bp = Blueprint("settings", __name__)


@bp.get("/settings")
@login_required
async def index() -> str:
    return await render_template("settings/index.html", saved=request.args.get("saved"),
                                 password_error=None, name_error=None)


def _save(user_id: int, show_presence: bool, send_read_receipts: bool) -> None:
    User.update(show_presence=show_presence, send_read_receipts=send_read_receipts).where(
        User.id == user_id).execute()


@bp.post("/settings")
@login_required
async def save() -> WResponse | tuple[str, int]:
    form = await request.form
    name = clean_name(form.get("display_name", g.user.display_name))
    problem = display_name_problem(name)
    if problem:
        page = await render_template("settings/index.html", saved=None, password_error=None,
                                     name_error=problem, name_value=name[:200])
        return page, 422
    if name != g.user.display_name:  # each change goes to everyone who shares a room
        await kehai().limits.enforce(f"names:{g.user.id}", kehai().config.conversation_limit,
                                     _("You are changing your name too often. Wait a little."))
    show = form.get("show_presence") == "on"
    receipts = form.get("send_read_receipts") == "on"
    was_shown = g.user.show_presence
    await run_db(_save, g.user.id, show, receipts)
    # Everyone who shares a conversation with them sees the new name at once.
    await kehai().name_changed(g.user.id, await run_db(rename_person, g.user.id, name))
    if was_shown != show:
        # Others see the change at once: as offline when hidden, as they are when shown again.
        kehai().presence_setting_changed(g.user.id)
    return redirect(url_for("settings.index", saved=1), 303)


def _store_password(user_id: int, password_hash: str) -> None:
    User.update(password_hash=password_hash).where(User.id == user_id).execute()


@bp.post("/settings/password")
@login_required
async def password() -> WResponse | tuple[str, int]:
    """A new password signs out every other session and closes their streams."""
    user = g.user
    form = await request.form
    # Guessing the current password from a borrowed session is limited like logging in.
    await kehai().limits.enforce(f"password:{user.id}", kehai().config.login_limit,
                                 _("Too many attempts. Please wait a little and try again."))
    error = None
    if not await verify_password(user.password_hash, form.get("current_password", "")):
        error = _("Your current password is not right.")
    else:
        error = password_problem(form.get("new_password", ""))
    if error:
        page = await render_template("settings/index.html", saved=None, password_error=error,
                                     name_error=None)
        return page, 422
    await run_db(_store_password, user.id, await hash_password(form["new_password"]))
    others = await run_db(Session.revoke_others, user, session.get("sid", ""))
    await kehai().hub.end_sessions(others)
    await sign_in(user)  # a fresh session id for this browser too
    return redirect(url_for("settings.index", saved=1), 303)
