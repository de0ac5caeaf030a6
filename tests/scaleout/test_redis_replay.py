"""Replay from Redis follows what the user missed: their own index, big rooms checked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.config import Config
from app.realtime import kinds
from app.realtime.events import Event, EventId
from app.realtime.redis_broker import RedisBroker, connect
from app.realtime.redis_replay import INDEX_MAX_RECIPIENTS
from tests.scaleout.conftest import REDIS_URL


@pytest.fixture
async def broker(redis_prefix) -> AsyncIterator[RedisBroker]:
    config = Config(redis_url=REDIS_URL, redis_prefix=redis_prefix, secret_key="x",
                    replay_max_events=50, database_url="sqlite:///:memory:")
    redis = connect(REDIS_URL)
    yield RedisBroker(config, redis)
    await redis.aclose()


async def publish(broker: RedisBroker, recipients, text: str) -> Event:
    event = Event(kind=kinds.NEW_MESSAGE, recipients=frozenset(recipients),
                  html={"en": f"<p>{text}</p>"})
    await broker.publish(event)
    return event


async def replayed(broker: RedisBroker, user_id: int, after: EventId) -> list[str] | None:
    missed = await broker.replay(user_id, after)
    if missed is None:
        return None
    return [e.html["en"] async for batch in missed for e in batch]


async def test_a_user_gets_exactly_their_own_events_in_order(broker):
    start = await broker.head()
    await publish(broker, [1, 2], "one")
    await publish(broker, [2, 3], "not for 1")
    big = range(1, INDEX_MAX_RECIPIENTS + 10)  # a room too big to index per member
    await publish(broker, big, "big room")
    await publish(broker, range(500, 900), "big room without 1")
    await publish(broker, [1], "two")
    assert await replayed(broker, 1, start) == ["<p>one</p>", "<p>big room</p>", "<p>two</p>"]
    assert await replayed(broker, 3, start) == ["<p>not for 1</p>", "<p>big room</p>"]
    assert await replayed(broker, 600, start) == ["<p>big room without 1</p>"]


async def test_a_user_with_none_of_many_events_replays_nothing_and_stays_placed(broker):
    start = await broker.head()
    for n in range(300):
        await publish(broker, [2, 3], f"m{n}")
    assert await replayed(broker, 1, start) == []


async def test_a_resume_from_beyond_a_users_trimmed_index_resyncs(broker):
    start = await broker.head()
    for n in range(200):  # keep is 50 per user (replay_max_events): the index gets trimmed
        await publish(broker, [1], f"m{n}")
    assert await replayed(broker, 1, start) is None
    recent = await broker.head()
    await publish(broker, [1], "after")
    assert await replayed(broker, 1, recent) == ["<p>after</p>"]


async def test_a_resume_with_a_foreign_epoch_resyncs(broker):
    await publish(broker, [1], "x")
    assert await replayed(broker, 1, EventId("0000abc", 0)) is None
