"""Replies: a message may answer another of the same conversation, which it then quotes
(author and the start of its text) above itself, in the sender's reply, the history and the
live event; the quote follows the answered message's edits and deletion. What cannot be
answered is refused with a message and stores nothing."""

from __future__ import annotations

import re

from app.db import run_db
from app.models import Message
from tests.test_messages import count, setup_chat


def quote_of(page: str, message_id: int) -> str:
    """The quote block above message `message_id` in a page or fragment ('' if none)."""
    article = re.search(rf'<article id="message-{message_id}".*?</article>', page, re.S)
    assert article, f"message {message_id} is not on the page"
    found = re.search(r'<a class="reply-quote".*?</a>', article.group(0), re.S)
    return found.group(0) if found else ""


async def test_a_reply_quotes_the_message_it_answers_everywhere_it_shows(make_user):
    alice, bob, cid = await setup_chat(make_user)
    await alice.post(f"/c/{cid}/messages", {"body": "Lunch at <noon>?", "client_id": "q-1"})
    r = await bob.post(f"/c/{cid}/messages", {"body": "Yes!", "client_id": "r-1",
                                             "reply_to": "1"})
    assert r.status_code == 201
    quote = quote_of(await r.get_data(as_text=True), 2)
    assert 'href="#message-1"' in quote and 'data-quote-of="1"' in quote
    assert ">Alice<" in quote and "Lunch at &lt;noon&gt;?" in quote
    for person in (alice, bob):
        _status, page = await person.page(f"/c/{cid}")
        assert "Lunch at &lt;noon&gt;?" in quote_of(page, 2)
        assert quote_of(page, 1) == ""  # the answered one quotes nothing
    stored = await run_db(Message.get_by_id, 2)
    assert stored.reply_to_id == 1


async def test_a_long_message_is_quoted_by_its_start(make_user):
    alice, bob, cid = await setup_chat(make_user)
    await alice.post(f"/c/{cid}/messages", {"body": "word " * 100})
    r = await bob.post(f"/c/{cid}/messages", {"body": "tl;dr?", "reply_to": "1"})
    quote = quote_of(await r.get_data(as_text=True), 2)
    assert "…" in quote and len(re.sub(r"<[^>]+>", "", quote)) < 160


async def test_what_cannot_be_answered_is_refused_with_a_message_and_nothing_is_stored(
        make_user):
    alice, bob, cid = await setup_chat(make_user)
    carol = await make_user("carol")
    r = await carol.post("/conversations", {"with": "alice"}, htmx=False)
    other = int(r.headers["Location"].rsplit("/", 1)[1])
    await carol.post(f"/c/{other}/messages", {"body": "not for bob"})  # message 1, elsewhere
    await alice.post(f"/c/{cid}/messages", {"body": "taken back"})  # message 2
    assert (await alice.post(f"/c/{cid}/messages/2/delete")).status_code == 200
    cases = [("1", "not in this conversation"), ("2", "was deleted"),
             ("999", "not in this conversation"), ("abc", "not in this conversation"),
             ("0", "not in this conversation"), ("99999999999999999999", "not in this")]
    for reply_to, why in cases:
        r = await bob.post(f"/c/{cid}/messages", {"body": "hm", "reply_to": reply_to})
        assert r.status_code == 422, reply_to
        assert why in await r.get_data(as_text=True), reply_to
    assert await count() == 2
    # in Japanese, too
    ja = await make_user("daiki", lang="ja")
    r = await ja.post("/conversations", {"with": "alice"}, htmx=False)
    room = int(r.headers["Location"].rsplit("/", 1)[1])
    r = await ja.post(f"/c/{room}/messages", {"body": "はい", "reply_to": "1"},
                      headers={"Accept-Language": "ja"})
    assert r.status_code == 422 and "この会話にありません" in await r.get_data(as_text=True)


async def test_a_double_submitted_reply_is_stored_once_and_still_quotes(make_user):
    alice, bob, cid = await setup_chat(make_user)
    await alice.post(f"/c/{cid}/messages", {"body": "ping"})
    form = {"body": "pong", "client_id": "twice", "reply_to": "1"}
    first = await bob.post(f"/c/{cid}/messages", form)
    second = await bob.post(f"/c/{cid}/messages", form)
    assert (first.status_code, second.status_code) == (201, 200)
    assert "ping" in quote_of(await second.get_data(as_text=True), 2)
    assert await count() == 2


async def test_a_retry_of_a_reply_whose_original_was_deleted_since_gets_the_reply_back(
        make_user):
    # The first attempt was stored but its answer lost (a cut link); the original is deleted
    # before the composer tries again: the retry must not be refused as a new reply would.
    alice, bob, cid = await setup_chat(make_user)
    await alice.post(f"/c/{cid}/messages", {"body": "soon gone"})
    form = {"body": "answer", "client_id": "retry-1", "reply_to": "1"}
    assert (await bob.post(f"/c/{cid}/messages", form)).status_code == 201
    assert (await alice.post(f"/c/{cid}/messages/1/delete")).status_code == 200
    again = await bob.post(f"/c/{cid}/messages", form)
    assert again.status_code == 200
    assert "This message was deleted." in quote_of(await again.get_data(as_text=True), 2)
    assert await count() == 2
    # a new reply to it is still refused
    fresh = await bob.post(f"/c/{cid}/messages", {**form, "client_id": "retry-2"})
    assert fresh.status_code == 422 and await count() == 2


async def test_the_quote_follows_an_edit_and_a_delete_of_what_it_answers(app, make_user):
    alice, bob, cid = await setup_chat(make_user)
    await alice.post(f"/c/{cid}/messages", {"body": "meet at 6"})
    await bob.post(f"/c/{cid}/messages", {"body": "ok", "reply_to": "1"})
    published = []
    real = app.kehai.hub.publish

    async def record(kind, recipients, html, **kwargs):
        published.append(html)
        return await real(kind, recipients, html, **kwargs)

    app.kehai.hub.publish = record
    try:
        assert (await alice.post(f"/c/{cid}/messages/1/edit",
                                 {"body": "meet at 7"})).status_code == 200
        event = next(h["en"] for h in published if 'data-event="message-changed"' in h["en"])
        partial = re.search(r'<hx-partial hx-target="\[data-quote-of=&#34;1&#34;\]".*?'
                            r'</hx-partial>|<hx-partial hx-target="\[data-quote-of=.1.\]".*?'
                            r'</hx-partial>', event, re.S)
        assert partial and "meet at 7" in partial.group(0)
        _s, page = await bob.page(f"/c/{cid}")
        assert "meet at 7" in quote_of(page, 2)
        published.clear()
        assert (await alice.post(f"/c/{cid}/messages/1/delete")).status_code == 200
        event = next(h["en"] for h in published if 'data-event="message-changed"' in h["en"])
        assert "This message was deleted." in event.split("data-quote-of", 1)[1]
        _s, page = await bob.page(f"/c/{cid}")
        quote = quote_of(page, 2)
        assert "This message was deleted." in quote and "meet at" not in quote
    finally:
        app.kehai.hub.publish = real
