"""The replay buffer and event ids: what a resuming client gets, and when it must resync."""

from app.realtime.events import Event, EventId
from app.realtime.replay import ReplayBuffer


def event(seq: int, users: set[int], created: float = 0.0) -> Event:
    e = Event(kind="new-message", recipients=frozenset(users), html={"en": f"<i>{seq}</i>"},
              seq=seq, epoch="ab", created=created)
    return e


def test_a_resuming_user_gets_exactly_their_missed_events_in_order():
    buf = ReplayBuffer(window_s=600, min_events=1000, max_events=5000, clock=lambda: 0)
    for seq in range(1, 11):
        buf.add(event(seq, {1} if seq % 2 else {2}))
    assert [e.seq for e in buf.since(1, 3, base_seq=0)] == [5, 7, 9]
    assert [e.seq for e in buf.since(2, 0, base_seq=0)] == [2, 4, 6, 8, 10]
    assert buf.since(1, 9, base_seq=0) == []


def test_old_events_are_kept_while_among_the_last_thousand():
    now = [0.0]
    buf = ReplayBuffer(window_s=600, min_events=1000, max_events=5000, clock=lambda: now[0])
    for seq in range(1, 1001):
        buf.add(event(seq, {1}, created=0.0))
    now[0] = 10_000.0  # long after the window
    buf.add(event(1001, {1}, created=now[0]))
    assert buf.since(1, 1, base_seq=0) is not None  # 2..1001 are still there
    assert buf.since(1, 0, base_seq=0) is None  # 1 was trimmed: resync


def test_events_younger_than_the_window_are_kept_beyond_a_thousand():
    buf = ReplayBuffer(window_s=600, min_events=1000, max_events=5000, clock=lambda: 100.0)
    for seq in range(1, 3001):
        buf.add(event(seq, {1}, created=50.0))
    assert len(buf.since(1, 0, base_seq=0)) == 3000


def test_memory_is_capped_even_inside_the_window():
    buf = ReplayBuffer(window_s=600, min_events=10, max_events=20, clock=lambda: 0.0)
    for seq in range(1, 101):
        buf.add(event(seq, {1}))
    assert len(buf.buffers[1]) == 20
    assert buf.since(1, 50, base_seq=0) is None


def test_event_ids_parse_only_what_the_server_could_have_issued():
    assert EventId.parse("abc123-42") == EventId("abc123", 42)
    for junk in ["", "42", "-1", "abc--1", "abc-", "abc-x", "a b-1", "x" * 100, "abc-1e5",
                 "abc-" + "9" * 30, None]:
        assert EventId.parse(junk) is None, junk


def test_presence_and_typing_are_kept_briefly_and_merged_in_order():
    buf = ReplayBuffer(window_s=600, min_events=1000, max_events=5000, clock=lambda: 0,
                       ephemeral_events=3)
    for seq in range(1, 11):
        kind = "new-message" if seq % 2 else "user-online"
        buf.add(Event(kind=kind, recipients=frozenset({1}), html={"en": "x"}, seq=seq))
    assert [e.seq for e in buf.since(1, 5, base_seq=0)] == [6, 7, 8, 9, 10]
    assert buf.since(1, 3, base_seq=0) is None  # presence event 4 was superseded and trimmed
    assert len(buf.ephemeral[1]) == 3
