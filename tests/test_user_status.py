"""The stored presence rows (UserStatus): what an operator's page and a restart read back."""

from datetime import datetime

from app.db import run_db
from app.models import User, UserStatus


async def test_many_statuses_are_stored_at_once_and_an_unknown_last_seen_keeps_the_old(
        app, make_user):
    await make_user("alice")
    await make_user("bob")
    alice, bob = await run_db(lambda: [User.by_username(n).id for n in ("alice", "bob")])
    seen = datetime(2026, 12, 8, 9, 30)

    def store(rows: list) -> None:
        with UserStatus._meta.database.atomic():
            UserStatus.record(rows)

    def stored() -> dict:
        return {r.user_id: (r.is_online, r.last_seen) for r in UserStatus.select()}

    await run_db(store, [(alice, True, seen), (bob, True, None)])
    assert await run_db(stored) == {alice: (True, seen), bob: (True, None)}
    await run_db(store, [(alice, False, None), (bob, False, seen)])
    assert await run_db(stored) == {alice: (False, seen), bob: (False, seen)}
