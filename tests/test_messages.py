"""Sending messages: validation, double submits, escaping, limits."""

from app.db import run_db
from app.models import Message


async def setup_chat(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    r = await alice.post("/conversations", {"with": "bob"}, htmx=False)
    return alice, bob, int(r.headers["Location"].rsplit("/", 1)[1])


async def count() -> int:
    return await run_db(lambda: Message.select().count())


async def test_a_message_is_stored_and_returned_as_its_fragment(make_user):
    alice, bob, cid = await setup_chat(make_user)
    r = await alice.post(f"/c/{cid}/messages", {"body": "  hello bob  ", "client_id": "c-1"})
    assert r.status_code == 201
    html = await r.get_data(as_text=True)
    assert 'id="message-1"' in html and 'data-author="alice"' in html and ">hello bob<" in html
    status, page = await bob.page(f"/c/{cid}")
    assert "hello bob" in page


async def test_empty_or_whitespace_messages_are_refused_with_a_message(make_user):
    alice, _bob, cid = await setup_chat(make_user)
    for body in ("", "   \n\t  "):
        r = await alice.post(f"/c/{cid}/messages", {"body": body})
        assert r.status_code == 422
        assert "Write something" in await r.get_data(as_text=True)
    assert await count() == 0


async def test_a_body_over_4000_characters_is_refused_and_4000_is_fine(make_user):
    alice, _bob, cid = await setup_chat(make_user)
    r = await alice.post(f"/c/{cid}/messages", {"body": "x" * 4001})
    assert r.status_code == 422 and "4,000" in await r.get_data(as_text=True)
    r = await alice.post(f"/c/{cid}/messages", {"body": "y" * 4000})
    assert r.status_code == 201
    assert await count() == 1


async def test_a_double_submitted_message_is_stored_once(make_user):
    alice, _bob, cid = await setup_chat(make_user)
    first = await alice.post(f"/c/{cid}/messages", {"body": "once", "client_id": "abc-123"})
    second = await alice.post(f"/c/{cid}/messages", {"body": "once", "client_id": "abc-123"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert await count() == 1
    assert 'id="message-1"' in await second.get_data(as_text=True)


async def test_html_and_script_in_text_are_shown_as_text(make_user):
    alice, bob, cid = await setup_chat(make_user)
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    await alice.post(f"/c/{cid}/messages", {"body": evil})
    status, page = await bob.page(f"/c/{cid}")
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_without_htmx_sending_redirects_back_to_the_conversation(make_user):
    alice, _bob, cid = await setup_chat(make_user)
    r = await alice.post(f"/c/{cid}/messages", {"body": "plain form"}, htmx=False)
    assert r.status_code == 303 and r.headers["Location"] == f"/c/{cid}"


async def test_sending_too_fast_gets_429_with_retry_after_and_stores_nothing_extra(make_user, config):
    alice, _bob, cid = await setup_chat(make_user)
    limit = config.message_limit[0]
    for n in range(limit):
        assert (await alice.post(f"/c/{cid}/messages", {"body": f"m{n}"})).status_code == 201
    r = await alice.post(f"/c/{cid}/messages", {"body": "one too many"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "too fast" in await r.get_data(as_text=True)
    assert await count() == limit


async def test_checks_run_in_order_csrf_login_membership_validation(make_user, app):
    alice, _bob, cid = await setup_chat(make_user)
    eve = await make_user("eve")
    r = await eve.client.post(f"/c/{cid}/messages", form={"body": ""})
    assert r.status_code == 403  # no token beats everything
    r = await eve.post(f"/c/{cid}/messages", {"body": ""})
    assert r.status_code == 404  # not a member beats invalid input
    anon = app.test_client()
    r = await anon.post(f"/c/{cid}/messages", form={"body": "x"})
    assert r.status_code == 403
