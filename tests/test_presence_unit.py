"""Presence rules with a real hub and short timers: grace, tabs, away, no flapping."""

import asyncio

from app.config import Config
from app.metrics import Metrics
from app.presence.tracker import AWAY, OFFLINE, ONLINE, PresenceTracker
from app.realtime.hub import Hub
from app.realtime.memory_broker import MemoryBroker


def make(grace: float = 0.2):
    config = Config(presence_grace_s=grace, secret_key="x", database_url="sqlite:///:memory:")
    hub = Hub(MemoryBroker(config), config, Metrics())
    changes: list[tuple[int, str]] = []
    tracker = PresenceTracker(hub, config,
                              lambda uid, status, changed: changed and changes.append((uid, status)))
    hub.listener = tracker
    return hub, tracker, changes


async def test_opening_a_stream_makes_you_online_once():
    hub, tracker, changes = make()
    hub.open(1, "s", "en")
    hub.open(1, "s", "en", tab="second")
    assert tracker.status_of(1) == ONLINE
    assert changes == [(1, ONLINE)]


async def test_a_reload_within_the_grace_shows_no_offline():
    hub, tracker, changes = make(grace=0.2)
    conn = hub.open(1, "s", "en")
    hub.close(conn)
    await asyncio.sleep(0.05)
    hub.open(1, "s", "en")
    await asyncio.sleep(0.3)
    assert changes == [(1, ONLINE)]
    assert tracker.status_of(1) == ONLINE


async def test_closing_the_last_tab_goes_offline_after_the_grace_not_before():
    hub, tracker, changes = make(grace=0.2)
    a, b = hub.open(1, "s", "en", tab="a"), hub.open(1, "s", "en", tab="b")
    hub.close(a)
    assert tracker.status_of(1) == ONLINE  # two tabs, one closed: still online
    hub.close(b)
    await asyncio.sleep(0.1)
    assert tracker.status_of(1) == ONLINE
    await asyncio.sleep(0.2)
    assert tracker.status_of(1) == OFFLINE
    assert changes == [(1, ONLINE), (1, OFFLINE)]


async def test_away_only_when_every_tab_is_hidden_or_idle():
    hub, tracker, changes = make()
    hub.open(1, "s", "en", tab="a")
    hub.open(1, "s", "en", tab="b")
    tracker.report(1, "a", active=False)
    assert tracker.status_of(1) == ONLINE
    tracker.report(1, "b", active=False)
    assert tracker.status_of(1) == AWAY
    tracker.report(1, "b", active=True)
    assert tracker.status_of(1) == ONLINE
    assert changes == [(1, ONLINE), (1, AWAY), (1, ONLINE)]


async def test_a_storm_of_a_hundred_reconnects_ends_online_with_one_announcement():
    hub, tracker, changes = make(grace=0.2)
    conn = hub.open(1, "s", "en")
    for _ in range(100):
        hub.close(conn)
        conn = hub.open(1, "s", "en")
    await asyncio.sleep(0.3)
    assert tracker.status_of(1) == ONLINE
    assert changes == [(1, ONLINE)]


async def test_a_server_shutdown_does_not_announce_everyone_offline():
    hub, tracker, changes = make(grace=0.05)
    conn = hub.open(1, "s", "en")
    hub.shutdown()
    hub.close(conn)
    await asyncio.sleep(0.1)
    assert changes == [(1, ONLINE)]


async def test_tabs_sharing_one_stream_each_count_for_themselves():
    hub, tracker, changes = make()
    hub.open(1, "s", "en", tab="a")  # the leading tab's stream, shared with tab b
    tracker.report(1, "a", True, session_id="s", n=1)
    tracker.report(1, "b", False, session_id="s", n=2)
    assert tracker.status_of(1) == ONLINE  # a is in use
    tracker.report(1, "a", False, session_id="s", n=3)
    assert tracker.status_of(1) == AWAY  # every tab hidden or idle
    tracker.report(1, "b", True, session_id="s", n=4)
    assert tracker.status_of(1) == ONLINE
    tracker.report(1, "b", None, session_id="s", n=5)  # b closed: only the idle a is left
    assert tracker.status_of(1) == AWAY
    assert changes == [(1, ONLINE), (1, AWAY), (1, ONLINE), (1, AWAY)]


async def test_a_late_report_from_a_reloaded_tab_is_ignored():
    hub, tracker, _changes = make()
    hub.open(1, "s", "en", tab="a")
    tracker.report(1, "b", False, session_id="s", n=1)
    tracker.report(1, "a", True, session_id="s", n=7)  # the reloaded page of tab a
    tracker.report(1, "a", None, session_id="s", n=6)  # the old page's "gone", arriving late
    assert tracker.status_of(1) == ONLINE


async def test_a_tab_report_reaches_only_its_own_browser_session():
    hub, tracker, _changes = make()
    hub.open(1, "laptop", "en", tab="a")
    phone = hub.open(1, "phone", "en", tab="p")
    tracker.report(1, "a", False, session_id="laptop", n=1)
    assert phone.active and tracker.status_of(1) == ONLINE  # the phone is still in use


async def test_when_the_last_tab_goes_the_stream_keeps_its_last_word():
    hub, tracker, changes = make()
    hub.open(1, "s", "en", tab="a")
    tracker.report(1, "a", True, session_id="s", n=1)
    tracker.report(1, "a", None, session_id="s", n=2)  # a reload: gone, then back
    assert tracker.status_of(1) == ONLINE
    assert changes == [(1, ONLINE)]
