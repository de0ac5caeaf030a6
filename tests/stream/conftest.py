"""Stream tests: a real server, and listeners that read /sse with httpx-sse."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from tests.support import Person


class Listener:
    """Reads one SSE stream in the background and keeps every event it gets."""

    def __init__(self, person: Person, last_event_id: str | None = None) -> None:
        self.person = person
        self.events: list[ServerSentEvent] = []
        self.status: int | None = None
        self.ended = asyncio.Event()
        self.opened = asyncio.Event()
        self._new = asyncio.Condition()
        headers = {"Accept-Language": person.http.headers.get("Accept-Language", "en")}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.client = httpx.AsyncClient(base_url=person.base_url, cookies=person.cookies(),
                                        headers=headers, timeout=httpx.Timeout(10, read=30))
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async with aconnect_sse(self.client, "GET", "/sse") as source:
                self.status = source.response.status_code
                self.opened.set()
                if self.status != 200:
                    return
                async for event in source.aiter_sse():
                    if not event.data and event.event in ("", "message"):
                        continue  # comments (pings) and keep-alives
                    async with self._new:
                        self.events.append(event)
                        self._new.notify_all()
        except (httpx.HTTPError, httpx.StreamError):
            pass
        finally:
            self.opened.set()
            self.ended.set()

    @property
    def kinds(self) -> list[str]:
        return [kind_of(e) for e in self.events]

    def of_kind(self, kind: str) -> list[ServerSentEvent]:
        return [e for e in self.events if kind_of(e) == kind]

    async def wait_for(self, predicate, timeout: float = 5.0) -> ServerSentEvent:
        async def find() -> ServerSentEvent:
            async with self._new:
                while True:
                    for event in self.events:
                        if predicate(event):
                            return event
                    await self._new.wait()

        return await asyncio.wait_for(find(), timeout)

    async def wait_text(self, text: str, timeout: float = 5.0) -> ServerSentEvent:
        return await self.wait_for(lambda e: text in e.data, timeout)

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        await self.client.aclose()


def kind_of(event: ServerSentEvent) -> str:
    if event.event and event.event != "message":
        return event.event
    marker = 'data-event="'
    start = event.data.find(marker)
    if start < 0:
        return ""
    start += len(marker)
    return event.data[start:event.data.index('"', start)]


@pytest.fixture
async def listen() -> AsyncIterator:
    opened: list[Listener] = []

    async def start(person: Person, last_event_id: str | None = None) -> Listener:
        listener = Listener(person, last_event_id)
        opened.append(listener)
        await asyncio.wait_for(listener.opened.wait(), 10)
        return listener

    yield start
    for listener in opened:
        await listener.close()
