"""Register, log in, log out."""

from __future__ import annotations

import re

from peewee import IntegrityError
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
from app.i18n import gettext as _
from app.kehai import kehai
from app.limits import Rule
from app.models import Session, User
from app.models.user import USERNAME_RE
from app.views.login_guard import LoginGuard
from app.views.sessions import sign_in

bp = Blueprint("auth", __name__)


# A path on this site: one leading slash, then printable ASCII without backslashes. Browsers
# drop tabs and newlines inside URLs ("/\t/evil.example" is "//evil.example", another site)
# and a newline cannot go into a Location header at all.
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")


def _safe_next(target: str | None) -> str:
    if target and _LOCAL_PATH.fullmatch(target):
        return target
    return url_for("conversations.index")


async def _limit(key: str, rule: Rule) -> None:
    await kehai().limits.enforce(key, rule,
                                 _("Too many attempts. Please wait a little and try again."))


@bp.get("/register")
async def register_form() -> str:
    return await render_template("auth/register.html", errors={}, values={})


@bp.post("/register")
async def register() -> WResponse | tuple[str, int]:
    form = await request.form
    username = form.get("username", "").strip().lower()
    display_name = clean_name(form.get("display_name", ""))
    password = form.get("password", "")
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = _("Use 2–32 lower-case letters, digits or underscores.")
    name_problem = display_name_problem(display_name)
    if name_problem:
        errors["display_name"] = name_problem
    problem = password_problem(password)
    if problem:
        errors["password"] = problem
    values = {"username": username, "display_name": display_name}
    if errors:
        return await render_template("auth/register.html", errors=errors, values=values), 422
    await _limit(f"register:{request.remote_addr}", kehai().config.register_limit)
    password_hash = await hash_password(password)
    try:
        user = await run_db(
            User.create, username=username, display_name=display_name, password_hash=password_hash
        )
    except IntegrityError:
        errors["username"] = _("That username is taken.")
        return await render_template("auth/register.html", errors=errors, values=values), 422
    await sign_in(user)
    return redirect(url_for("conversations.index"), 303)


@bp.get("/login")
async def login_form() -> str:
    return await render_template(
        "auth/login.html", error=None, values={}, next=request.args.get("next", "")
    )


@bp.post("/login")
async def login() -> WResponse | tuple[str, int]:
    form = await request.form
    username = form.get("username", "").strip().lower()
    password = form.get("password", "")
    possible = USERNAME_RE.fullmatch(username) is not None
    guard = LoginGuard(kehai().limits, kehai().config, username if possible else None,
                       request.remote_addr or "")
    await guard.check()
    user = await run_db(User.by_username, username) if possible else None
    if user is None or not await verify_password(user.password_hash, password):
        if possible and user is None:
            await verify_password(None, password)  # as slow as a wrong password: no enumeration
        await guard.failed()
        error = _("That username and password do not match.")
        # An impossible name is not echoed: it may be 60,000 characters of anything.
        values = {"username": username if possible else ""}
        page = await render_template("auth/login.html", error=error, values=values,
                                     next=form.get("next", ""))
        return page, 401
    await guard.succeeded()
    await sign_in(user)
    return redirect(_safe_next(form.get("next")), 303)


@bp.post("/logout")
async def logout() -> WResponse:
    sid = session.pop("sid", None)
    if sid:
        await run_db(Session.revoke, sid)
        await kehai().hub.end_sessions([sid])
    g.user = None
    session.pop("csrf", None)
    return redirect(url_for("auth.login"), 303)
