"""The operators' dashboard: who may see it, search, filter and paging."""

import re

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


async def user_id(name: str) -> int:
    return (await run_db(User.by_username, name)).id


def order_on(page: str) -> list[str]:
    return re.findall(r'<tr data-user="([^"]+)"', page)


async def test_rows_sort_by_status_then_names_with_numbers_read_as_numbers(app, make_user):
    for n in (10, 2, 1, 11):
        await make_user(f"tu{n}", f"Test User {n}")
    op = await make_operator(make_user)
    shown = app.kehai.presence.tracker.shown
    shown[await user_id("tu11")] = "away"
    shown[await user_id("tu10")] = "online"
    app.kehai.presence.tracker.since[await user_id("tu10")] = 1_700_000_000.0
    _status, page = await op.page("/dashboard")
    assert order_on(page) == ["tu10", "tu11", "olga", "tu1", "tu2"]
    assert 'since <time datetime="2023-11-14T22:13:20Z" data-format="time">' in page
    _status, page = await op.page("/dashboard?status=offline")
    assert order_on(page) == ["olga", "tu1", "tu2"]


async def test_typing_in_a_direct_chat_names_its_two_people(app, make_user):
    aki = await make_user("aki", "Aki")
    await make_user("ben", "Ben")
    r = await aki.post("/conversations", {"with": "ben"}, htmx=False)
    conversation_id = int(r.headers["location"].rsplit("/", 1)[1])
    op = await make_operator(make_user)
    app.kehai.typing.start(conversation_id, await user_id("aki"))
    _status, page = await op.page("/dashboard")
    assert '<span class="typing-in">Aki ↔ Ben</span>' in page


async def test_the_table_alone_is_what_the_page_re_fetches(make_user):
    await make_user("alice")
    op = await make_operator(make_user)
    status, table = await op.page("/dashboard/table?q=ali&page=1")
    assert status == 200 and order_on(table) == ["alice"]
    assert '<form id="dashboard-view" hidden>' in table and 'value="ali"' in table
    assert "<html" not in table
    alice = await make_user("alice2")
    assert (await alice.page("/dashboard/table"))[0] == 403
