"""Read watermarks only move forward."""

from app.db import run_db
from app.models import Conversation, Membership, Message, User


async def test_the_watermark_moves_forward_only(app, make_user):
    await make_user("alice")
    await make_user("bob")

    def scenario():
        alice, bob = User.by_username("alice"), User.by_username("bob")
        conv = Conversation.create(kind="group", title="t")
        Membership.insert_many([{"conversation": conv, "user": u} for u in (alice, bob)]).execute()
        ids = [Message.post(conv, alice, f"m{n}", None)[0].id for n in range(3)]
        moves = [Membership.advance(conv.id, bob.id, ids[1]),
                 Membership.advance(conv.id, bob.id, ids[0]),
                 Membership.advance(conv.id, bob.id, ids[1]),
                 Membership.advance(conv.id, bob.id, ids[2])]
        return moves, Membership.find(conv.id, bob.id).last_read_message_id, ids

    moves, mark, ids = await run_db(scenario)
    assert moves == [True, False, False, True]
    assert mark == ids[2]


async def test_a_read_made_with_receipts_off_moves_only_the_private_watermark(app, make_user):
    from app.receipts import advance

    await make_user("alice")
    await make_user("bob")

    def scenario():
        alice, bob = User.by_username("alice"), User.by_username("bob")
        conv = Conversation.create(kind="group", title="t")
        Membership.insert_many([{"conversation": conv, "user": u} for u in (alice, bob)]).execute()
        ids = [Message.post(conv, alice, f"m{n}", None)[0].id for n in range(3)]
        bob.send_read_receipts = False
        hidden = advance(conv.id, bob, ids[1])
        bob.send_read_receipts = True
        shown = advance(conv.id, bob, ids[2])
        return hidden, shown, Membership.find(conv.id, bob.id), ids

    hidden, shown, mark, ids = await run_db(scenario)
    assert hidden.moved and not hidden.shared
    assert shown.moved and shown.shared and shown.shared_before == 0
    assert (mark.last_read_message_id, mark.shared_read_message_id) == (ids[2], ids[2])
