"""Attack-suite fixtures: the stream reader, the browser, operators and raw streams.

Reused as they are: `app`/`make_user` (tests/conftest.py), `listen` (tests/stream), and the
browser's `live`, `new_page`, `page_for` and `problems` (tests/browser) together with its hook
that fails a test whose pages logged console errors or CSP violations.

Playwright's sync API marks its event loop as running in the main thread while it is open,
which breaks every async test that runs after it. Here it lives for one browser test only, so
browser and async tests can sit side by side in one file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from app.db import run_db
from app.models import User
from tests.browser.conftest import (  # noqa: F401  (fixtures and the problems hook, reused)
    launch_chromium,
    live,
    new_page,
    open_playwright,
    page_for,
    problems,
    pytest_runtest_call,
)
from tests.browser.helpers import TIMEOUT_MS
from tests.security.helpers import RawStream
from tests.stream.conftest import listen  # noqa: F401  (the same stream reader)
from tests.support import ROOT, Person, Server


@pytest.fixture
def playwright_instance() -> Iterator[Any]:
    for p in open_playwright():
        from playwright.sync_api import expect

        expect.set_options(timeout=TIMEOUT_MS)
        yield p


@pytest.fixture
def browser(playwright_instance: Any) -> Iterator[Any]:
    yield from launch_chromium(playwright_instance)


@pytest.fixture
async def raw_stream() -> AsyncIterator:
    """raw_stream(person, last_event_id=None) -> a RawStream that has its response headers."""
    opened: list[RawStream] = []

    async def start(person: Person, last_event_id: str | None = None, query: str = "") -> RawStream:
        import asyncio

        stream = RawStream(person.base_url, person.cookies(), last_event_id,
                           lang=person.http.headers.get("Accept-Language", "en"), query=query)
        opened.append(stream)
        await asyncio.wait_for(stream.opened.wait(), 10)
        return stream

    yield start
    for stream in opened:
        await stream.close()


def create_operator(server: Server, name: str, display_name: str = "Olga Op",
                    password: str = "operator password 1") -> Person:
    """`python run.py create-user NAME --operator`, password on stdin, then a real login."""
    env = {**os.environ, "KEHAI_INSTANCE_DIR": str(server.instance)}
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "create-user", name,
                           "--display-name", display_name, "--operator"],
                          input=f"{password}\n".encode(), env=env, capture_output=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    op = Person(server.url, name, password=password, register=False)
    assert op.login().status_code == 303
    return op


@pytest.fixture
def make_operator(make_user):
    """make_operator("olga") -> a signed-in WebUser whose role was set to operator in the DB."""

    async def make(name: str = "olga", display_name: str | None = None):
        op = await make_user(name, display_name)
        await run_db(lambda: User.update(role="operator").where(User.username == name).execute())
        await op.page("/")
        return op

    return make
