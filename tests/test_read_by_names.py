"""Read-by lists name readers; where two readers' names look alike, each also shows @username."""

from types import SimpleNamespace

from app.receipts.state import ReadState


def test_only_names_that_could_be_confused_carry_the_username():
    marks = [(1, 9, None, "Aki", "aki"), (2, 9, None, "Ben", "ben"),
             (3, 9, None, "ben", "mallory"), (4, 9, None, "Ｃｈｉｅ", "chie")]
    _n, _at, readers = ReadState(False, marks).for_message(SimpleNamespace(id=5, author_id=1))
    assert [r[:3] for r in readers] == [("Ben", "ben", True), ("ben", "mallory", True),
                                     ("Ｃｈｉｅ", "chie", False)]
