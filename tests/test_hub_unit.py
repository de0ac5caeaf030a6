"""The hub and its bounded queues, without a server: fast and exact."""

from app.config import Config
from app.metrics import Metrics
from app.realtime import kinds
from app.realtime.connection import Connection
from app.realtime.events import Event, recipients_on_wire
from app.realtime.hub import Hub, TooManyStreams
from app.realtime.memory_broker import MemoryBroker


def ev(kind: str, users=(1,), key=None, seq=0) -> Event:
    return Event(kind=kind, recipients=frozenset(users), html={"en": kind}, coalesce_key=key,
                 seq=seq)


def test_a_reader_that_never_reads_is_closed_for_resume_instead_of_growing_memory():
    conn = Connection(1, "s", "en", maxsize=256)
    for n in range(10_000):
        conn.push(ev(kinds.NEW_MESSAGE, seq=n + 1))
    assert conn.overflowed
    assert len(conn.queue) == 0


def test_typing_and_presence_are_dropped_for_a_full_queue_but_the_stream_survives():
    conn = Connection(1, "s", "en", maxsize=4)
    for n in range(4):
        conn.push(ev(kinds.NEW_MESSAGE, seq=n + 1))
    assert conn.push(ev(kinds.TYPING_START, seq=5)) == "dropped"
    assert not conn.overflowed and len(conn.queue) == 4


def test_a_newer_presence_event_replaces_a_queued_one_for_the_same_user():
    conn = Connection(1, "s", "en", maxsize=10)
    conn.push(ev(kinds.USER_ONLINE, key="presence:7", seq=1))
    conn.push(ev(kinds.NEW_MESSAGE, seq=2))
    assert conn.push(ev(kinds.USER_OFFLINE, key="presence:7", seq=3)) == "coalesced"
    assert [e.kind for e in conn.queue] == [kinds.NEW_MESSAGE, kinds.USER_OFFLINE]


def test_drain_skips_what_replay_already_sent():
    conn = Connection(1, "s", "en", maxsize=10)
    conn.last_seq = 5
    for seq in (4, 5, 6, 7):
        conn.push(ev(kinds.NEW_MESSAGE, seq=seq))
    assert [e.seq for e in conn.drain()] == [6, 7]


async def test_the_hub_delivers_only_to_recipients_and_limits_streams_per_user():
    config = Config(max_streams_per_user=2, secret_key="x", database_url="sqlite:///:memory:")
    hub = Hub(MemoryBroker(config), config, Metrics())
    await hub.start()
    a1, a2 = hub.open(1, "s1", "en"), hub.open(1, "s2", "ja")
    b = hub.open(2, "s3", "en")
    try:
        hub.open(1, "s4", "en")
        raise AssertionError("a third stream was allowed")
    except TooManyStreams:
        pass
    event = await hub.publish(kinds.NEW_MESSAGE, [1], {"en": "<p>hi</p>", "ja": "<p>やあ</p>"})
    assert [e.seq for e in a1.drain()] == [event.seq]
    assert a2.queue[0].frame_for("ja").endswith("data: <p>やあ</p>\n\n".encode())
    assert not b.queue
    hub.shutdown()
    assert a1.closing == "shutdown"


def test_recipients_travel_packed_and_come_back_exactly():
    """Events cross processes (and sit in the Redis stream) with their recipients packed: a
    room of 10,000 costs a few hundred bytes, and every id comes back, no more, no fewer."""
    room = frozenset(range(1, 10_001)) - {4_242}
    event = Event(kind=kinds.NEW_MESSAGE, recipients=room, html={"en": "<p>hi</p>"})
    event.epoch, event.seq = "abc", 7
    wire = event.to_wire()
    assert len(str(wire["rz"])) < 2_000
    again = Event.from_wire(wire)
    assert again.recipients == room and 4_242 not in again.recipients
    assert again.frame_for("en") == event.frame_for("en")
    # events stored before the packed form still replay to the right people
    assert recipients_on_wire({"r": [3, 1]}) == {1, 3}
