"""What the pages tell the browser about unread (static/js/unread.js, reading.js): every
conversation's count with the list, and where the "new messages" line starts."""

import json
import re

from tests.test_conversations import start_direct

COUNTS = re.compile(r"<template data-unread-counts='([^']*)'>")


def counts_in(page: str) -> dict[str, int]:
    found = COUNTS.search(page)
    assert found, "the list carries no unread counts"
    return json.loads(found.group(1))


def message_id(text: str) -> int:
    return int(re.search(r'data-message-id="(\d+)"', text).group(1))


async def send(user, cid: int, body: str) -> int:
    r = await user.post(f"/c/{cid}/messages", {"body": body})
    assert r.status_code == 201
    return message_id(await r.get_data(as_text=True))


async def test_the_list_carries_every_conversations_unread_count_and_a_read_clears_it(make_user):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    with_bob, with_carol = await start_direct(alice, "bob"), await start_direct(alice, "carol")
    await send(bob, with_bob, "one")
    last = await send(bob, with_bob, "two")
    await send(carol, with_carol, "three")
    await send(alice, with_carol, "mine never counts")
    _, page = await alice.page("/")
    assert counts_in(page) == {str(with_bob): 2, str(with_carol): 1}
    assert (await alice.post(f"/c/{with_bob}/read", {"up_to": str(last)})).status_code == 204
    _, page = await alice.page("/sidebar")
    assert counts_in(page) == {str(with_carol): 1}


async def test_the_new_messages_line_starts_at_the_first_unread_by_someone_else(make_user):
    alice, bob = await make_user("alice"), await make_user("bob")
    cid = await start_direct(alice, "bob")
    read = await send(bob, cid, "read already")
    assert (await alice.post(f"/c/{cid}/read", {"up_to": str(read)})).status_code == 204
    mine = await send(alice, cid, "mine, after the watermark")
    taken_back = await send(bob, cid, "deleted before it was read")
    assert (await bob.post(f"/c/{cid}/messages/{taken_back}/delete")).status_code < 300
    first = await send(bob, cid, "the first unread")
    await send(bob, cid, "the second")
    _, page = await alice.page(f"/c/{cid}")
    assert f'data-unread-from="{first}" data-unread-count="2"' in page
    _, page = await bob.page(f"/c/{cid}")  # for bob, alice's is the one unread
    assert f'data-unread-from="{mine}" data-unread-count="1"' in page
