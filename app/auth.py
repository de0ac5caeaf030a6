"""Who is signed in: sessions bound to a revocable id, argon2 passwords, route guards."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from quart import abort, g, redirect, request, session, url_for

from app.db import run_db
from app.i18n import gettext as _
from app.models import Session, User
from app.security import rotate_csrf

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
_hasher = PasswordHasher()
# Verifying against this keeps "no such user" as slow as "wrong password".
_DUMMY_HASH = _hasher.hash("kehai-timing-equaliser")


def use_fast_hashing() -> None:
    """Cheap argon2 parameters for the test suite only (hashes stay verifiable)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("kehai-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < 8:
        return _("Choose a password of at least 8 characters.")
    if len(password) > 256:
        return _("That password is too long.")
    if password.isdigit() or len(set(password)) < 4:
        return _("That password is too easy to guess.")
    return None


async def load_user() -> None:
    """Before each request: find the signed-in user from the session id, if still valid."""
    g.user = None
    sid = session.get("sid")
    if sid:
        g.user = await run_db(Session.user_for, sid)
        if g.user is None:
            session.pop("sid", None)


async def sign_in(user: User) -> None:
    """Start a fresh session (a new id and CSRF token: no fixation)."""
    old = session.get("sid")
    if old:
        from app.services import services

        await run_db(Session.revoke, old)
        await services().hub.end_sessions([old])  # a revoked id keeps no stream open
    row = await run_db(Session.start, user)
    session["sid"] = row.id
    session.permanent = True
    rotate_csrf()
    g.user = user


def current_user() -> User | None:
    return g.get("user")


def wants_html_redirect() -> bool:
    return request.method == "GET" and "HX-Request" not in request.headers


def login_required(view: F) -> F:
    """Anonymous GETs go to the login page; anything else gets 401."""

    @functools.wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if wants_html_redirect():
                return redirect(url_for("auth.login", next=request.path))
            abort(401, _("Please sign in again."))
        return await view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def operator_required(view: F) -> F:
    @functools.wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = g.get("user")
        if user is None:
            return await login_required(view)(*args, **kwargs)
        if not user.is_operator:
            abort(403, _("Only operators can see this page."))
        return await view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
