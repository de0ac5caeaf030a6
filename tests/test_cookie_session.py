"""The session cookie read outside Quart (app/web/cookie_session.py) is the cookie Quart's
pages read: the same value for any Cookie header, odd ones included."""

from __future__ import annotations

from werkzeug.sansio.http import parse_cookie

from app.web.cookie_session import CookieSession

HEADERS = [
    "", "kehai_session=abc.def", " kehai_session = abc.def ", "kehai_session=",
    "kehai_session", "other=1", "kehai_session=a=b=c", "kehai_sessionx=abc",
    "xkehai_session=abc", "kehai_session=abc; other=1", "other=1; kehai_session=abc",
    "kehai_session=first; kehai_session=second", 'kehai_session="quoted\\"value"',
    "kehai_session=abc,def", "=abc", "kehai_session=\tabc\t", "KEHAI_SESSION=abc",
    "kehai_session=ünïcode", "kehai_session=abc;", ";kehai_session=abc",
]


def test_every_cookie_header_gives_the_value_werkzeug_gives(app):
    cookies = CookieSession(app)
    assert cookies.cookie_name == "kehai_session"
    for header in HEADERS:
        assert cookies.value(header) == parse_cookie(header).get("kehai_session"), header
