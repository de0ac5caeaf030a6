"""The list's order kept for a few seconds: statuses stay live, newcomers who are online show."""

from app.dashboard import listing
from app.dashboard.listing import Listing
from app.db import run_db
from app.models import User


async def test_the_stored_order_is_kept_but_statuses_and_newcomers_are_live(app, monkeypatch):
    def add(*names):
        User.insert_many([{"username": n, "display_name": n, "password_hash": "x"}
                          for n in names]).execute()
        return {u.username: u.id for u in User.select()}

    now = [0.0]
    kept = Listing(keep_s=5.0, clock=lambda: now[0])
    ids = await run_db(add, "u2", "u10", "u1")
    order = await run_db(kept.ordered, "", "", {}, {})
    assert order == [ids["u1"], ids["u2"], ids["u10"]]
    calls = []
    monkeypatch.setattr(listing, "directory", lambda q: calls.append(q) or [])
    order = await run_db(kept.ordered, "", "online", {ids["u10"]: "online"}, {})
    assert order == [ids["u10"]] and calls == []  # from the kept order, status applied live
    monkeypatch.undo()
    ids = await run_db(add, "u3")
    order = await run_db(kept.ordered, "", "online", {ids["u3"]: "online"}, {})
    assert order == [ids["u3"]]  # online but not in the kept order: read again at once
