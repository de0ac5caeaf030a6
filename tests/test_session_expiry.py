"""Sessions end on the server: unused for session_idle_s, or session_max_s after sign-in."""

from __future__ import annotations

from datetime import timedelta

from app.db import run_db
from app.models import Session
from app.models.base import utcnow


async def test_a_session_unused_for_longer_than_the_idle_limit_is_signed_out(make_user, config):
    alice = await make_user("alice")
    idle = utcnow() - timedelta(seconds=config.session_idle_s + 60)
    await run_db(lambda: Session.update(last_seen=idle).execute())
    r = await alice.client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


async def test_using_a_session_marks_it_seen_at_most_once_an_hour(make_user):
    alice = await make_user("alice")
    minutes_ago = utcnow() - timedelta(minutes=5)
    await run_db(lambda: Session.update(last_seen=minutes_ago).execute())
    assert (await alice.client.get("/")).status_code == 200
    row = await run_db(lambda: Session.select().get())
    assert row.last_seen == minutes_ago  # no write for a session seen minutes ago
    hours_ago = utcnow() - timedelta(hours=2)
    await run_db(lambda: Session.update(last_seen=hours_ago).execute())
    assert (await alice.client.get("/")).status_code == 200
    row = await run_db(lambda: Session.select().get())
    assert row.last_seen > hours_ago + timedelta(hours=1)


async def test_a_page_view_of_a_signed_in_user_sets_no_cookie(make_user):
    alice = await make_user("alice")
    r = await alice.client.get("/")
    assert r.status_code == 200 and "set-cookie" not in {k.lower() for k in r.headers.keys()}


async def test_streams_opening_together_are_admitted_for_live_sessions_only(make_user, config):
    # A reconnect storm looks its sessions up together (app/hot_reads.py live_user_ids), in
    # statements padded to a power of two: three live, one expired, one unknown.
    from app.hot_reads import live_user_ids
    from app.models.session import Lifetime

    users = [await make_user(name) for name in ("alice", "bob", "carol", "dan")]
    rows = await run_db(lambda: list(Session.select().order_by(Session.user)))
    assert len(rows) == len(users)
    idle = utcnow() - timedelta(seconds=config.session_idle_s + 60)
    await run_db(lambda: Session.update(last_seen=idle).where(Session.id == rows[3].id).execute())
    lifetime = Lifetime(config.session_idle_s, config.session_max_s)
    asked = [r.id for r in rows] + ["no-such-session"]
    found = await run_db(live_user_ids, asked, lifetime)
    assert found == {r.id: r.user_id for r in rows[:3]}
