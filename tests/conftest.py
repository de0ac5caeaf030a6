"""Shared fixtures: a fresh app and database per test, and a real server when needed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from app import create_app
from app.config import Config
from tests.support import FAST, Server

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def config(tmp_path: Path) -> Config:
    tuning = {k: tuple(v) if isinstance(v, list) else v for k, v in FAST.items()}
    tuning.update(instance_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/t.db",
                  redis_url="", testing=True, secret_key="test-secret")
    return Config.from_env(**tuning)


@pytest.fixture
async def app(config: Config) -> AsyncIterator[Quart]:
    application = create_app(config)
    async with application.test_app() as test_app:
        yield test_app.app  # type: ignore[misc]
    from app import db

    db.shutdown()


@pytest.fixture
def client(app: Quart) -> TestClientProtocol:
    return app.test_client()


class WebUser:
    """A signed-in user driving the Quart test client (fast request tests)."""

    def __init__(self, client: TestClientProtocol, username: str) -> None:
        self.client = client
        self.username = username
        self.csrf = ""

    async def page(self, path: str, **kwargs: object) -> tuple[int, str]:
        r = await self.client.get(path, **kwargs)
        text = await r.get_data(as_text=True)
        found = CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return r.status_code, text

    async def post(self, path: str, data: dict | None = None, htmx: bool = True,
                   headers: dict | None = None):
        h = {"X-CSRF-Token": self.csrf, **({"HX-Request": "true"} if htmx else {}), **(headers or {})}
        return await self.client.post(path, form=data or {}, headers=h)


@pytest.fixture
def make_user(app: Quart):
    """make_user("alice") -> a WebUser with its own cookie jar, registered and signed in."""

    async def make(username: str, display_name: str | None = None, lang: str = "en") -> WebUser:
        client = app.test_client()
        user = WebUser(client, username)
        await user.page("/register", headers={"Accept-Language": lang})
        r = await client.post("/register", form={
            "username": username, "display_name": display_name or username.capitalize(),
            "password": "correct horse battery", "csrf_token": user.csrf})
        assert r.status_code == 303, await r.get_data(as_text=True)
        await user.page("/")
        return user

    return make


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "srv").start()
    yield srv
    srv.stop()
