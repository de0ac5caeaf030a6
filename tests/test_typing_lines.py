"""Typing lines: what each member reads, and only the members whose line changed get one."""

from app.typists.lines import SEVERAL, UNKNOWN, changed_lines, line_for

NAMES = {1: "Aki", 2: "Ben", 3: "Chie", 4: "Dan"}


def test_up_to_two_names_are_shown_then_several_people():
    assert line_for([]) == ()
    assert line_for(["Aki", "Ben"]) == ("Aki", "Ben")
    assert line_for(["Aki", "Ben", "Chie"]) == SEVERAL


def test_a_typist_never_reads_their_own_name():
    sent: dict = {}
    changes = changed_lines([1, 2, 3], [1], NAMES, sent, unknown=False)
    assert changes.groups == {("Aki",): [2, 3]}  # member 1 reads nothing: no event for them
    assert sent == {2: ("Aki",), 3: ("Aki",)}
    assert changes.grew[("Aki",)] is True


def test_nobody_whose_line_is_unchanged_gets_an_event():
    sent = {2: ("Aki",), 3: ("Aki",)}
    changes = changed_lines([1, 2, 3], [1], NAMES, sent, unknown=False)
    assert changes.groups == {}


def test_when_typing_ends_the_readers_get_an_empty_line_that_did_not_grow():
    sent = {2: ("Aki",), 3: ("Aki",)}
    changes = changed_lines([1, 2, 3], [], NAMES, sent, unknown=False)
    assert changes.groups == {(): [2, 3]}
    assert changes.grew[()] is False


def test_two_typists_each_read_the_other_and_the_rest_read_both():
    changes = changed_lines([1, 2, 3], [1, 2], NAMES, {}, unknown=False)
    assert changes.groups == {("Ben",): [1], ("Aki",): [2], ("Aki", "Ben"): [3]}


def test_in_a_storm_everyone_reads_several_people_once():
    sent: dict = {}
    first = changed_lines([1, 2, 3, 4, 5], [1, 2, 3, 4], NAMES, sent, unknown=False)
    assert first.groups == {SEVERAL: [1, 2, 3, 4, 5]}
    again = changed_lines([1, 2, 3, 4, 5], [1, 2, 3, 4], NAMES, sent, unknown=False)
    assert again.groups == {}


def test_after_another_process_broadcast_every_member_is_told_even_of_nothing():
    sent: dict = {}
    changes = changed_lines([1, 2], [], NAMES, sent, unknown=True)
    assert changes.groups == {(): [1, 2]}  # their screens may show a line from elsewhere
    assert UNKNOWN not in sent.values()
