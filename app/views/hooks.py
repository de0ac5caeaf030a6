"""What runs around every request: language, CSRF, the signed-in user, headers, errors."""

from __future__ import annotations

from typing import Any

from quart import Quart, g, has_request_context, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from app.i18n import current, negotiate, set_locale
from app.i18n import gettext as _
from app.kehai import kehai
from app.outages import DATABASE_DOWN
from app.views.errors import render_error
from app.views.sessions import load_user
from app.web.csrf import check_csrf, check_post, csrf_token
from app.web.headers import add_headers

RETRY_AFTER_S = 5


async def _before() -> None:
    set_locale(negotiate(request.headers.get("Accept-Language")))
    check_post()
    await check_csrf()
    await load_user()
    if g.user is not None and request.method == "GET" and "HX-Request" not in request.headers:
        # Taken before the page's queries: the stream resumes from here, so nothing that
        # happens while the page renders falls between the page and the stream; and in
        # this page's language, which its stream will ask for.
        kehai().hub.languages.saw(g.user.id, current())
        try:
            g.stream_since = str(await kehai().hub.head())
        except Exception:  # broker away: the stream will start with a resync instead
            g.stream_since = ""


async def _after(response: Any) -> Any:
    if response.status_code < 500:
        kehai().database.ok()  # logs once, when an outage has just ended
    return add_headers(response)


async def _http_error(error: HTTPException) -> Any:
    return await render_error(error)


async def _database_down(error: Exception) -> Any:
    """A 503 with Retry-After and a message the page shows, logged once per outage; a POST's
    text stays in the composer (only a 2xx clears it)."""
    kehai().database.failed(error)
    return await render_error(ServiceUnavailable(
        _("Kehai is briefly unavailable. Nothing you typed is lost: try again in a moment."),
        retry_after=RETRY_AFTER_S))


async def _context() -> dict[str, Any]:
    return {
        # Made on first use, by a page that shows it: a response that renders no form
        # (/healthz, /metrics, static files) leaves the session, and so the cookie, alone.
        "csrf_token": csrf_token() if has_request_context() else "",
        "me": g.get("user"),
        "stream_since": g.get("stream_since", ""),
        "away_after": kehai().config.away_s,
        "heartbeat_s": kehai().config.heartbeat_s,  # the page's stream watchdog
    }


def install_hooks(app: Quart) -> None:
    app.before_request(_before)
    app.after_request(_after)
    app.errorhandler(HTTPException)(_http_error)
    for error in DATABASE_DOWN:
        app.errorhandler(error)(_database_down)
    app.context_processor(_context)
