"""Behind a TLS proxy: the real scheme and client address, from the proxies we trust only.

Behind nginx every request arrives over plain http from the proxy's address, so the session
cookie was never Secure and every visitor shared one rate-limit address. X-Forwarded-Proto
and X-Forwarded-For are believed only when the peer itself is listed in
KEHAI_TRUSTED_PROXIES; from anyone else they are a client's claims and ignored. (Hypercorn's
ProxyFixMiddleware trusts a number of hops from whoever connects, not listed addresses.)
X-Forwarded-Host is never used: the Host header is checked against the allowed hosts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """"10.0.0.1", "10.0.0.0/8", "::1" -> networks (a bad entry is a start-up error)."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _header(scope: dict, name: bytes) -> str | None:
    values = [v for k, v in scope["headers"] if k == name]
    return b",".join(values).decode("latin-1") if values else None


class TrustedProxies:
    """ASGI middleware: rewrite `scheme` and `client` from a trusted proxy's headers."""

    def __init__(self, app: Any, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def _client(self, forwarded_for: str) -> str | None:
        """The nearest address in the chain that is not one of our proxies: each proxy
        appends the peer it saw, so everything left of that is the client's own claim."""
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            if not self._is_trusted(hop):
                return hop if self._valid(hop) else None
        return None

    @staticmethod
    def _valid(address: str) -> bool:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return False
        return True

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        peer = scope.get("client")
        if scope["type"] == "http" and self.trusted and peer and self._is_trusted(peer[0]):
            scope = dict(scope)
            proto = _header(scope, b"x-forwarded-proto")
            if proto:  # the value our proxy added is the last one
                last = proto.split(",")[-1].strip().lower()
                if last in ("http", "https"):
                    scope["scheme"] = last
            forwarded = _header(scope, b"x-forwarded-for")
            client = self._client(forwarded) if forwarded else None
            if client:
                scope["client"] = (client, 0)
        await self.app(scope, receive, send)
