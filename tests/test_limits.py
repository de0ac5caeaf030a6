"""The limiters: keys stay small whatever a client sends, and expired keys are forgotten."""

from __future__ import annotations

from app.limits import KEY_MAX, Limits, bounded_key
from app.limits.memory import SWEEP_S, MemoryLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_long_key_is_kept_as_a_short_digest_and_distinct_keys_stay_distinct():
    a, b = bounded_key("login:name:" + "x" * 60_000), bounded_key("login:name:" + "y" * 60_000)
    assert len(a) <= KEY_MAX and len(b) <= KEY_MAX and a != b
    assert bounded_key("login:addr:10.0.0.1") == "login:addr:10.0.0.1"


async def test_keys_touched_once_are_swept_after_their_window_without_any_size_threshold():
    clock = Clock()
    limiter = MemoryLimiter(clock)
    for n in range(50):
        await limiter.hit(f"once:{n}", 10, 1.0)
    await limiter.hit("slow", 10, 3600.0)
    clock.now += SWEEP_S + 2
    await limiter.hit("later", 10, 1.0)
    assert len(limiter) == 2  # "slow" is still inside its hour, "later" was just made


async def test_peek_counts_nothing_and_tells_when_the_limit_is_reached():
    clock = Clock()
    limits = Limits(MemoryLimiter(clock))
    assert await limits.limiter.peek("k", 2, 10.0) is None
    for _ in range(2):
        assert await limits.wait("k", (2, 10.0)) is None
    for _ in range(3):
        assert await limits.limiter.peek("k", 2, 10.0) == 10.0
    clock.now += 10.5
    assert await limits.limiter.peek("k", 2, 10.0) is None
