"""POST /c/<id>/messages from the page's composer, answered outside Quart's request machinery.

Sending is the request a chat makes most. Profiled on bench/rooms.py, Quart's request and app
contexts, hooks, session and response wrapper were a third of a message's server time: more
than storing it. This ASGI handler, beside the Quart app on the same Hypercorn, answers the
composer's usual request itself: an htmx POST with a client_id, from the page's own origin,
with the session's CSRF token, by a signed-in member, valid and within the rate limit, and not
a reply (Quart's route checks what a reply answers). It asks the same questions through the
same functions (the cookie, `cross_site`, `problem`, the hot reads, the limiter) and sends
through the same `Messages.send`.

Anything else is handed to Quart, body included, before anything was stored or counted:
Quart then answers it exactly as it always did (every refusal, with its status and message,
is Quart's). A failure while sending is handed over too: the client_id makes the retry
idempotent, so Quart stores the message at most once and answers with its own error page.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from app.db import read_now
from app.hot_reads import member_room, session_user
from app.i18n import negotiate, use_locale
from app.limits import COUNTED, Counted, Limits, Rule
from app.logs import OutageLog, access_line
from app.messages import Composer, Messages
from app.messages.views import problem
from app.models.session import Lifetime
from app.web.cookie_session import CookieSession
from app.web.csrf import cross_site
from app.web.params import MAX_ID, bounded_int

ASGI = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
PATH = re.compile(r"/c/([0-9]{1,19})/messages")
FORM = b"application/x-www-form-urlencoded"


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    """Request headers by lower-case name; the first of a repeated name, as Quart's get()."""
    out: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        out.setdefault(name.lower(), value)
    return out


def _form(body: bytes) -> dict[str, str] | None:
    """The urlencoded form, first value of each name (werkzeug's get()); None for anything
    Quart would refuse or read differently (bad UTF-8, a NUL)."""
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    form: dict[str, str] = {}
    for name, value in pairs:
        if "\0" in value or "\0" in name:
            return None
        form.setdefault(name, value)
    return form


class LeanPost:
    """ASGI app: the composer's message POST here, every other request to `app`."""

    def __init__(self, app: ASGI, messages: Messages, limits: Limits, rule: Rule,
                 cookies: CookieSession, lifetime: Lifetime, database: OutageLog,
                 max_body: int, security_headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.messages = messages
        self.limits = limits
        self.rule = rule
        self.cookies = cookies
        self.lifetime = lifetime
        self.database = database
        self.max_body = max_body
        self.headers = [(b"content-type", b"text/html; charset=utf-8"),
                        (b"cache-control", b"no-store"), *security_headers]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        path = PATH.fullmatch(scope["path"])
        headers = _headers(scope) if path else {}
        length = headers.get(b"content-length", b"")
        if (path is None or int(path[1]) > MAX_ID or b"hx-request" not in headers
                or b"transfer-encoding" in headers or not length.isdigit()
                or int(length) > self.max_body
                or headers.get(b"content-type", b"").split(b";")[0].strip().lower() != FORM):
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before its request was whole: nothing to do
            body += message.get("body", b"")
            more = message.get("more_body", False)
        began = time.perf_counter()
        answered, counted = await self._answer(int(path[1]), headers, body)
        if answered is None:
            if counted is not None:
                scope = {**scope, COUNTED: counted}
            return await self.app(scope, _replayed(body, receive), send)
        status, page, user_id = answered
        data = page.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [*self.headers, (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
        access_line("POST", scope["path"], status,
                    round((time.perf_counter() - began) * 1000, 1), user_id)

    async def _answer(self, conversation_id: int, headers: dict[bytes, bytes], body: bytes
                      ) -> tuple[tuple[int, str, int] | None, Counted | None]:
        """((status, page, user id) of a message sent, or None when Quart must answer; the
        limit counted on the way, if it was)."""
        def text(name: bytes) -> str | None:
            value = headers.get(name)
            return value.decode("latin-1") if value is not None else None

        if cross_site(text(b"origin"), text(b"host") or "", text(b"sec-fetch-site")):
            return None, None
        session = self.cookies.read(headers)
        token = headers.get(b"x-csrf-token")
        if session is None or token is None:
            return None, None
        sid, expected, _signed = session
        if not sid or not expected or not hmac.compare_digest(token, expected.encode()):
            return None, None
        form = _form(body)
        if form is None:
            return None, None
        text_body = form.get("body", "").strip()
        client_id = form.get("client_id", "").strip() or None
        lang = negotiate(text(b"accept-language"))
        with use_locale(lang):
            if (client_id is None or problem(text_body, client_id) is not None
                    or form.get("reply_to", "").strip()):
                return None, None  # a reply too: Quart checks what it answers
            counted = None
            try:
                user = await read_now(session_user, sid, self.lifetime)
                room = await read_now(member_room, conversation_id, user.id) if user else None
                if (user is None or room is None
                        or await self.limits.over(f"messages:{user.id}", self.rule) is not None):
                    return None, None
                key = f"messages:{user.id}"
                counted = Counted(key, await self.limits.wait(key, self.rule))
                if counted.wait is not None:
                    return None, counted  # over it at this very moment: Quart refuses it
                composer = Composer(sid, bounded_int(form, "typing_seq", 0, 10**18) or 0)
                sent = await self.messages.send(room, user, text_body, client_id, composer)
                page = await self.messages.reply(sent)
            except Exception:  # Quart tries again (the client_id keeps it to one message)
                return None, counted
        self.database.ok()  # logs once, when an outage has just ended
        return ((201 if sent.created else 200), page, user.id), counted


def _replayed(body: bytes, receive: Any) -> Any:
    """`receive` for Quart: the body already read, then whatever the client says next."""
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # type: ignore[no-any-return]

    return again
