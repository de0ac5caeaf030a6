"""The security headers: defined once, for pages, fragments, errors and the lean stream."""

from __future__ import annotations

from quart import Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def add_headers(response: Response) -> Response:
    """Every Quart response: the security headers, and no caching of HTML."""
    headers = response.headers
    for name, value in SECURITY_HEADERS:
        headers.setdefault(name, value)
    if response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    return response


def asgi_headers() -> list[tuple[bytes, bytes]]:
    """The same headers for responses written by plain ASGI handlers (the lean /sse)."""
    return [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS]
