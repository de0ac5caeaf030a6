"""Who is signed in: the cookie holds a random session id, checked on every request."""

from __future__ import annotations

from quart import g, session

from app.db import read_now, run_db
from app.hot_reads import session_user
from app.kehai import kehai
from app.models import Session, User
from app.models.session import Lifetime
from app.web.csrf import rotate_csrf


def lifetime() -> Lifetime:
    """How long sessions live on the server (Config.session_idle_s, session_max_s)."""
    config = kehai().config
    return Lifetime(config.session_idle_s, config.session_max_s)


async def load_user() -> None:
    """Before each request: find the signed-in user from the session id, if still valid."""
    g.user = None
    sid = session.get("sid")
    if sid:
        g.user = await read_now(session_user, sid, lifetime())
        if g.user is None:
            session.pop("sid", None)


async def sign_in(user: User) -> None:
    """Start a fresh session (a new id and CSRF token: no fixation)."""
    old = session.get("sid")
    if old:
        await run_db(Session.revoke, old)
        await kehai().hub.end_sessions([old])  # a revoked id keeps no stream open
    row = await run_db(Session.start, user)
    session["sid"] = row.id
    session.permanent = True
    rotate_csrf()
    g.user = user
