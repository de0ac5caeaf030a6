"""The operators' dashboard: who may see it, search, filter and paging."""

from app.db import run_db
from app.models import User


async def make_operator(make_user, name="olga"):
    op = await make_user(name)
    await run_db(lambda: User.update(role="operator").where(User.username == name).execute())
    await op.page("/")
    return op


async def test_a_member_gets_403_and_an_operator_sees_everyone(make_user):
    alice = await make_user("alice")
    await make_user("bob")
    assert (await alice.page("/dashboard"))[0] == 403
    op = await make_operator(make_user)
    status, page = await op.page("/dashboard")
    assert status == 200
    for name in ("alice", "bob", "olga"):
        assert f'<tr data-user="{name}" data-status="offline">' in page
    assert 'id="dashboard-totals"' in page


async def test_search_and_status_filter_narrow_the_list(make_user):
    await make_user("alice", "Alice Liddell")
    await make_user("bob")
    op = await make_operator(make_user)
    _status, page = await op.page("/dashboard?q=lidd")
    assert 'data-user="alice"' in page and 'data-user="bob"' not in page
    _status, page = await op.page("/dashboard?status=online")
    assert 'data-user="' not in page and "Nobody matches." in page
    _status, page = await op.page("/dashboard?status=offline&q=bo")
    assert 'data-user="bob"' in page


async def test_ten_thousand_users_are_paged_fifty_at_a_time(make_user):
    op = await make_operator(make_user)

    def many():
        User.insert_many([{"username": f"u{n:05d}", "display_name": f"User {n:05d}",
                           "password_hash": "x"} for n in range(10_000)]).execute()

    await run_db(many)
    _status, page = await op.page("/dashboard?page=3")
    assert page.count("<tr data-user=") == 50
    assert "Page 3 of 201" in page
