"""Tabs report whether they are in use; settings decide what others may see."""

from __future__ import annotations

from quart import Blueprint, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WResponse

from app.auth import login_required
from app.db import run_db
from app.models import User
from app.services import services

bp = Blueprint("presence", __name__)
STATES = {"active": True, "away": False, "gone": None}


@bp.post("/presence")
@login_required
async def report() -> tuple[str, int]:
    """`state=active|away|gone` from a tab (visible and used; hidden or idle for 5 minutes;
    closed), with `n` ordering that tab's reports (a reload's "gone" may arrive late)."""
    form = await request.form
    state = form.get("state", "")
    if state not in STATES:
        return "state must be active, away or gone", 422
    tab = (form.get("tab") or request.headers.get("X-Kehai-Tab", ""))[:64]
    n = form.get("n", "")
    order = int(n) if n.isascii() and n.isdigit() and len(n) <= 18 else 0
    services().extras["presence"].report(g.user.id, tab, STATES[state],
                                         session_id=session.get("sid", ""), n=order)
    return "", 204


@bp.get("/settings")
@login_required
async def settings() -> str:
    return await render_template("settings/index.html", saved=request.args.get("saved"),
                                 password_error=None)


def _save(user_id: int, show_presence: bool, send_read_receipts: bool) -> None:
    User.update(show_presence=show_presence, send_read_receipts=send_read_receipts).where(
        User.id == user_id).execute()


@bp.post("/settings")
@login_required
async def save_settings() -> WResponse:
    form = await request.form
    show = form.get("show_presence") == "on"
    receipts = form.get("send_read_receipts") == "on"
    was_shown = g.user.show_presence
    await run_db(_save, g.user.id, show, receipts)
    if was_shown != show:
        # Others see the change at once: as offline when hidden, as they are when shown again.
        services().extras["announcer"].announce(g.user.id)
    return redirect(url_for("presence.settings", saved=1), 303)
