"""The signed session cookie, read outside Quart (the lean /sse and message handlers)."""

from __future__ import annotations

import time
from typing import NamedTuple

from quart import Quart
from werkzeug.sansio.http import parse_cookie


class Signed(NamedTuple):
    """What the lean handlers use of a session cookie."""

    sid: str | None
    csrf: str | None
    at: float  # when it was signed


MAX_VERIFIED = 50_000  # past this, start over: a miss costs one signature check


class CookieSession:
    """Quart's own serializer and cookie name: what the pages see, these handlers see."""

    def __init__(self, app: Quart) -> None:
        self.serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]
        self.max_age = int(app.permanent_session_lifetime.total_seconds())
        # cookie value -> what it holds. Checking a signature (an HMAC,
        # then base64 and JSON) was a few per cent of a reconnect storm, where each cookie
        # comes back; a value that verified once verifies again, so only its age is checked.
        self._verified: dict[str, Signed] = {}

    def read(self, headers: dict[bytes, bytes]) -> Signed | None:
        """The session's id and CSRF token, or None (no cookie, a bad or expired
        signature)."""
        # Werkzeug's parser, as Quart's request.cookies uses for the pages: the first cookie
        # of a name wins and a malformed part is skipped. Any other parser (http.cookies
        # takes the last, and gives up at the first bad part) lets a page and its stream
        # belong to different sessions.
        value = self.value(headers.get(b"cookie", b"").decode("latin-1"))
        if value is None or self.serializer is None:
            return None
        known = self._verified.get(value)
        if known is not None and time.time() - known.at <= self.max_age:
            return known
        try:
            data, signed = self.serializer.loads(value, max_age=self.max_age,
                                                 return_timestamp=True)
        except Exception:  # a bad or expired signature is simply "not signed in"
            return None
        if not isinstance(data, dict):
            return None
        sid, csrf = data.get("sid"), data.get("csrf")
        found = Signed(sid if isinstance(sid, str) else None,
                       csrf if isinstance(csrf, str) else None, signed.timestamp())
        if len(self._verified) >= MAX_VERIFIED:
            self._verified.clear()
        self._verified[value] = found
        return found

    def value(self, header: str) -> str | None:
        """The session cookie's value in a Cookie header, exactly as werkzeug reads it."""
        if ";" not in header and '"' not in header:
            # One cookie, unquoted (what a browser sends Kehai): werkzeug's parse of it,
            # without its regular expression and MultiDict (a few per cent of a stream's
            # opening). tests/test_cookie_session.py holds the two to the same answers.
            name, _, value = header.partition("=")
            return value.strip() if name.strip() == self.cookie_name else None
        return parse_cookie(header).get(self.cookie_name)

    def session_id(self, headers: dict[bytes, bytes]) -> str | None:
        found = self.read(headers)
        return found.sid if found is not None else None
