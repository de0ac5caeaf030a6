"""Changing a password: it signs out every other session and closes their streams."""

from __future__ import annotations

from quart import Blueprint, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as WResponse

from app.auth import hash_password, login_required, password_problem, sign_in, verify_password
from app.db import run_db
from app.i18n import gettext as _
from app.models import Session, User
from app.ratelimit import retry_after_header
from app.services import services

bp = Blueprint("password", __name__)


def _store(user_id: int, password_hash: str) -> None:
    User.update(password_hash=password_hash).where(User.id == user_id).execute()


@bp.post("/settings/password")
@login_required
async def change() -> WResponse | tuple[str, int]:
    user = g.user
    form = await request.form
    # Guessing the current password from a borrowed session is limited like logging in.
    wait = await services().limiter.hit(f"password:{user.id}", *services().config.login_limit)
    if wait is not None:
        raise TooManyRequests(_("Too many attempts. Please wait a little and try again."),
                              retry_after=int(retry_after_header(wait)))
    error = None
    if not await verify_password(user.password_hash, form.get("current_password", "")):
        error = _("Your current password is not right.")
    else:
        error = password_problem(form.get("new_password", ""))
    if error:
        page = await render_template("settings/index.html", saved=None, password_error=error)
        return page, 422
    await run_db(_store, user.id, await hash_password(form["new_password"]))
    others = await run_db(Session.revoke_others, user, session.get("sid", ""))
    await services().hub.end_sessions(others)
    await sign_in(user)  # a fresh session id for this browser too
    return redirect(url_for("presence.settings", saved=1), 303)
