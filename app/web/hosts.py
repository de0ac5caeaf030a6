"""Only the host names we serve: a foreign Host header is a 400 (DNS rebinding).

A page on another site can point its own DNS name at this server; the browser then sends
that name as Host, and without this check the app would answer it as its own. By default
only the local names and the configured host are served; a server bound to 0.0.0.0 must
list its public names in KEHAI_ALLOWED_HOSTS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.i18n import gettext as _
from app.i18n import negotiate, use_locale

LOCAL = ("127.0.0.1", "localhost", "::1")


def host_name(host: str) -> str:
    """"Example.com:8000" -> "example.com", "[::1]:8000" -> "::1"."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed(configured: Iterable[str], bind_host: str) -> frozenset[str]:
    """The names to serve: those configured, or else the local names and the bind host."""
    names = {host_name(h) for h in configured if h.strip()}
    if not names:
        names = {*LOCAL, host_name(bind_host)}
    return frozenset(names)


class AllowedHosts:
    """ASGI middleware: requests for any other Host get 400 with a short explanation."""

    def __init__(self, app: Any, hosts: frozenset[str], headers: list[tuple[bytes, bytes]]
                 ) -> None:
        self.app = app
        self.hosts = hosts
        self.headers = headers

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = dict(scope["headers"])
        host = found.get(b"host", b"").decode("latin-1")
        if host_name(host) in self.hosts:
            await self.app(scope, receive, send)
            return
        with use_locale(negotiate(found.get(b"accept-language", b"").decode("latin-1"))):
            body = _("This server does not answer to that host name.").encode() + b"\n"
        await send({"type": "http.response.start", "status": 400, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), *self.headers]})
        await send({"type": "http.response.body", "body": body})
