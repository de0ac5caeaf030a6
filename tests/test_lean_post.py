"""The composer's message POST outside Quart (app/messages/lean.py): the same answer as Quart's
for every request, the usual one answered without Quart, every other one by Quart itself.

Each case is sent twice, once through the lean handler and once to the Quart app, from two
users in two rooms of the same app, so that both see the same state (the same limits, the
same kind of room): status, headers and page must match. Real Hypercorn serves the lean
handler in every test that runs `run.py` (tests/support.py Server)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from app import lean_posts
from app.db import run_db
from app.models import Message
from app.views.stream import StreamDoor
from tests.test_messages import setup_chat

COOKIE = "kehai_session"
IDS = re.compile(r'(message(?:-content)?-|read-mark-|data-message-id="|data-created="|datetime=")'
                 r'[^"]*')


class Counting:
    """The Quart app behind the lean handler, counting what reaches it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


async def asgi_post(asgi: Any, path: str, form: dict[str, str] | bytes,
                    headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    body = form if isinstance(form, bytes) else urlencode(form).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8000), "extensions": {},
             "headers": [(k.lower().encode(), v.encode()) for k, v in {
                 "host": "localhost", "content-type": "application/x-www-form-urlencoded",
                 "content-length": str(len(body)), **headers}.items()]}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    out: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        out.append(message)

    await asgi(scope, receive, send)
    start = out[0]
    got = {k.decode(): v.decode() for k, v in start["headers"]}
    page = b"".join(m.get("body", b"") for m in out[1:]).decode()
    return start["status"], got, page


def _cookie(user: Any) -> str:
    return next(c.value for c in user.client.cookie_jar if c.name == COOKIE)


def _same(page: str) -> str:
    """The page with what differs between the two sides (ids, times, who) taken out."""
    page = re.sub(r"/c/\d+", "/c/", re.sub(r"hue-\d+", "hue", IDS.sub(r"\1", page)))
    return page.replace("carol", "alice")


@pytest.fixture
async def two_of_everything(app, make_user):
    """(lean handler, counter, [(user, room, cookie, csrf)] for the lean and the Quart side)."""
    alice, _bob, room_a = await setup_chat(make_user)
    carol = await make_user("carol", display_name="Alice")  # her page reads like alice's
    r = await carol.post("/conversations", {"with": "bob"}, htmx=False)
    room_c = int(r.headers["Location"].rsplit("/", 1)[1])
    counting = Counting(app)
    posts = lean_posts(app, counting, StreamDoor(app, app.kehai))
    return posts, counting, [(alice, room_a), (carol, room_c)]


CASES: list[tuple[str, dict[str, str], dict[str, str], int]] = [
    ("sent", {"body": "hello", "client_id": "c-1"}, {}, 201),
    ("sent again", {"body": "hello", "client_id": "c-1"}, {}, 200),
    ("no client id", {"body": "hello"}, {}, 201),
    ("empty", {"body": "   ", "client_id": "c-2"}, {}, 422),
    ("too long", {"body": "x" * 4001, "client_id": "c-3"}, {}, 422),
    ("bad client id", {"body": "hi", "client_id": "<script>"}, {}, 422),
    ("NUL", {"body": "a\0b", "client_id": "c-4"}, {}, 400),
    ("wrong token", {"body": "hi", "client_id": "c-5"}, {"X-CSRF-Token": "nope"}, 403),
    ("other site", {"body": "hi", "client_id": "c-6"}, {"Origin": "https://evil.example"}, 403),
    ("fetched cross-site", {"body": "hi", "client_id": "c-7"}, {"Sec-Fetch-Site": "cross-site"},
     403),
    ("not htmx", {"body": "plain form", "client_id": "c-8"}, {"HX-Request": ""}, 303),
    ("in Japanese", {"body": "こんにちは", "client_id": "c-9"}, {"Accept-Language": "ja"}, 201),
]


async def test_every_request_gets_the_answer_quart_gives(two_of_everything):
    posts, counting, sides = two_of_everything
    for name, form, extra, status in CASES:
        answers = []
        for asgi, (user, room) in ((posts, sides[0]), (counting.app, sides[1])):
            headers = {"Cookie": f"{COOKIE}={_cookie(user)}", "X-CSRF-Token": user.csrf,
                       "HX-Request": "true", "Accept-Language": "en", **extra}
            headers = {k: v for k, v in headers.items() if v}
            answers.append(await asgi_post(asgi, f"/c/{room}/messages", form, headers))
        (lean_status, lean_headers, lean_page), (status_q, headers_q, page_q) = answers
        assert (name, lean_status) == (name, status) == (name, status_q)
        for got in (lean_headers, headers_q):
            got.pop("content-length", None)
            if "location" in got:
                got["location"] = got["location"].rsplit("/", 1)[0]
        assert lean_headers == headers_q, name
        assert _same(lean_page) == _same(page_q), name
    # stored on each side: sent (once), no client id, not htmx, in Japanese
    assert await run_db(lambda: Message.select().count()) == 2 * 4


async def test_the_usual_message_never_reaches_quart_and_refusals_always_do(two_of_everything):
    posts, counting, sides = two_of_everything
    user, room = sides[0]
    headers = {"Cookie": f"{COOKIE}={_cookie(user)}", "X-CSRF-Token": user.csrf,
               "HX-Request": "true"}
    for n in range(3):
        status, _h, page = await asgi_post(posts, f"/c/{room}/messages",
                                           {"body": f"m{n}", "client_id": f"u-{n}"}, headers)
        assert status == 201 and f">m{n}<" in page
    assert counting.calls == 0
    for form, extra in (({"body": "", "client_id": "u-9"}, {}),
                        ({"body": "x", "client_id": "u-9"}, {"X-CSRF-Token": "stale"}),
                        ({"body": "x", "client_id": "u-9"}, {"Cookie": ""})):
        status, _h, _page = await asgi_post(posts, f"/c/{room}/messages", form,
                                            {**headers, **extra})
        assert status in (401, 403, 422)
    assert counting.calls == 3
    status, _h, _page = await asgi_post(posts, f"/c/{room + 999}/messages",
                                        {"body": "x", "client_id": "u-8"}, headers)
    assert status == 404 and counting.calls == 4
    # A reply goes to Quart, which checks what it answers, and quotes it.
    status, _h, page = await asgi_post(posts, f"/c/{room}/messages",
                                       {"body": "re", "client_id": "u-7", "reply_to": "1"},
                                       headers)
    assert status == 201 and 'class="reply-quote"' in page and ">m0<" in page
    assert counting.calls == 5


async def test_the_rate_limit_is_counted_once_and_refused_by_quart(app, two_of_everything):
    posts, counting, sides = two_of_everything
    user, room = sides[0]
    allowed, _window = app.kehai.config.message_limit
    headers = {"Cookie": f"{COOKIE}={_cookie(user)}", "X-CSRF-Token": user.csrf,
               "HX-Request": "true"}
    for n in range(allowed):
        status, _h, _p = await asgi_post(posts, f"/c/{room}/messages",
                                         {"body": f"m{n}", "client_id": f"r-{n}"}, headers)
        assert status == 201, n
    status, got, page = await asgi_post(posts, f"/c/{room}/messages",
                                        {"body": "one more", "client_id": "r-x"}, headers)
    assert status == 429 and "retry-after" in got and "too fast" in page
    assert counting.calls == 1
    assert await run_db(lambda: Message.select().count()) == allowed


async def test_a_send_that_fails_outside_quart_is_counted_once_against_the_limit(
        app, two_of_everything, monkeypatch):
    # The lean handler counts the attempt, then the store fails (a database hiccup): Quart
    # sends it again. The retry must not count a second time, or a sender whose messages
    # failed once is refused sooner than one whose did not. The last one the limit allows
    # fails here: counted again, or looked at again, it would be refused.
    posts, counting, sides = two_of_everything
    user, room = sides[0]
    allowed, _window = app.kehai.config.message_limit
    headers = {"Cookie": f"{COOKIE}={_cookie(user)}", "X-CSRF-Token": user.csrf,
               "HX-Request": "true"}
    real_send, calls = app.kehai.messages.send, []

    async def fails_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == allowed:
            raise RuntimeError("database hiccup")
        return await real_send(*args, **kwargs)

    monkeypatch.setattr(app.kehai.messages, "send", fails_once)
    for n in range(allowed):
        status, _h, page = await asgi_post(posts, f"/c/{room}/messages",
                                           {"body": f"m{n}", "client_id": f"f-{n}"}, headers)
        assert status == 201, (n, page)
    assert counting.calls == 1  # the failed one, sent again by Quart
    status, _h, _p = await asgi_post(posts, f"/c/{room}/messages",
                                     {"body": "one more", "client_id": "f-x"}, headers)
    assert status == 429
    assert await run_db(lambda: Message.select().count()) == allowed
