"""Attack suite, round two: read receipts turned off must stay off for what was read then.

Reads were stored as one watermark whatever the setting, and the setting only filtered
what was shown: turning receipts back on revealed every read made while they were off, with
its time. A sender must only ever learn of reads made while receipts were on.
"""

from __future__ import annotations

import re

import pytest

from tests.support import Person, Server

MESSAGE_ID = re.compile(r'data-message-id="(\d+)"')


def sent_id(r) -> str:
    assert r.status_code == 201, r.status_code
    return MESSAGE_ID.findall(r.text)[0]


def read_count(page: str, message_id: str) -> int:
    """What a message's read mark says on its sender's page (0: not read, as far as shown)."""
    found = re.search(rf'id="read-mark-{message_id}"[^>]*data-read-count="(\d+)"', page)
    assert found, f"no read mark for message {message_id}"
    return int(found.group(1))


def receipts(person: Person, on: bool) -> None:
    form = {"show_presence": "on", **({"send_read_receipts": "on"} if on else {})}
    assert person.post("/settings", form, htmx=False).status_code == 303


@pytest.fixture
def pair(server: Server):
    alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
    dm = alice.start_direct("bob")
    yield alice, bob, dm
    alice.close()
    bob.close()


async def test_reads_made_with_receipts_off_stay_hidden_after_receipts_are_turned_on(
        pair, raw_stream):
    alice, bob, dm = pair
    early = [sent_id(alice.send(dm, f"early {n}")) for n in range(2)]
    watching = await raw_stream(alice)
    await watching.first(within=15)
    receipts(bob, on=False)
    assert bob.post(f"/c/{dm}/read", {"up_to": early[-1]}).status_code == 204
    receipts(bob, on=True)

    # Alice's own next message comes back on her stream after whatever came before it.
    # (Not one of bob's: replying may fairly count as reading, now that receipts are on.)
    assert alice.send(dm, "sentinel from alice").status_code == 201
    await watching.wait_text("sentinel from alice", within=15)
    revealed = [f.data for f in watching.events if f.kind == "message-read"]
    assert not revealed, f"alice's stream revealed reads made with receipts off: {revealed}"
    page = alice.http.get(f"/c/{dm}").text
    assert [read_count(page, m) for m in early] == [0, 0], (
        "alice's page shows reads bob made while his receipts were off")

    # The control: a read made now, with receipts on, is shown live and on the page.
    late = sent_id(alice.send(dm, "late"))
    assert bob.post(f"/c/{dm}/read", {"up_to": late}).status_code == 204
    frame = await watching.wait_for(lambda f: f.kind == "message-read", within=15)
    assert f'id="read-mark-{late}"' in frame.data and "Read" in frame.data
    assert read_count(alice.http.get(f"/c/{dm}").text, late) == 1
