"""A send closes its composer's typing reports: a report that arrives after it is ignored."""

from app.typists.state import CLOSED_KEPT, Typists


def tracker() -> Typists:
    return Typists(6.0, lambda c, u: None, lambda s, c, u: None)  # the numbers need no timers


def test_a_report_numbered_before_the_send_is_late_and_one_after_is_not():
    t = tracker()
    t.close_before(7, 1, "s", 100)
    assert t.is_late(7, 1, "s", 99) and t.is_late(7, 1, "s", 100)
    assert not t.is_late(7, 1, "s", 101)


def test_the_mark_belongs_to_one_conversation_user_and_browser_and_never_goes_back():
    t = tracker()
    t.close_before(7, 1, "s", 100)
    assert not t.is_late(8, 1, "s", 50)  # another conversation
    assert not t.is_late(7, 2, "s", 50)  # another user
    assert not t.is_late(7, 1, "phone", 50)  # the same user's other browser (its own clock)
    t.close_before(7, 1, "s", 60)  # an older message delivered late from the outbox
    assert t.is_late(7, 1, "s", 90)
    assert not t.is_late(7, 1, "s", 0)  # a report without a number is never judged late


def test_the_marks_kept_are_bounded():
    t = tracker()
    for n in range(CLOSED_KEPT + 10):
        t.close_before(n, 1, "s", 5)
    assert len(t.closed) == CLOSED_KEPT
    assert not t.is_late(0, 1, "s", 5) and t.is_late(CLOSED_KEPT + 9, 1, "s", 5)
