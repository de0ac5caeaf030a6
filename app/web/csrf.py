"""CSRF tokens and the Origin check every state-changing request passes first."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlparse

from quart import abort, request, session

from app.i18n import gettext as _

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token() -> str:
    """The session's CSRF token, created on first use (anonymous visitors get one too)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def rotate_csrf() -> None:
    session["csrf"] = secrets.token_urlsafe(32)


def _same_origin(origin: str, host: str) -> bool:
    parsed = urlparse(origin)
    return parsed.scheme in ("http", "https") and parsed.netloc == host


def cross_site(origin: str | None, host: str, fetch_site: str | None) -> bool:
    """Whether a state-changing request came from another site (its Origin, Host and
    Sec-Fetch-Site headers)."""
    if origin is not None and origin != "null" and not _same_origin(origin, host):
        return True
    return origin == "null" or fetch_site == "cross-site"


def check_post() -> None:
    """Refuse a state-changing request from another site or without the page's token."""
    if request.method in SAFE_METHODS:
        return
    headers = request.headers
    if cross_site(headers.get("Origin"), headers.get("Host", ""), headers.get("Sec-Fetch-Site")):
        abort(403, _("This request came from another site and was refused."))


async def check_csrf() -> None:
    """Compare the submitted token with the session's in constant time.

    Then refuse form values carrying NUL characters: no honest form sends them, and
    PostgreSQL cannot store or even compare them (the driver raises, which would be a 500).
    """
    if request.method in SAFE_METHODS:
        return
    expected = session.get("csrf", "")
    form = await request.form
    sent = request.headers.get("X-CSRF-Token")
    if sent is None:
        sent = form.get("csrf_token", "")
    # Bytes: compare_digest refuses str with non-ASCII characters (a TypeError, i.e. a 500).
    if not expected or not hmac.compare_digest(str(sent).encode(), str(expected).encode()):
        abort(403, _("Your session expired or the form is stale. Reload the page and try again."))
    if any("\0" in value for _name, value in form.items(multi=True)):
        abort(400, _("That request could not be understood."))
