"""Display names: one check for every place a name is set, so nobody looks like someone else."""

from __future__ import annotations

import pytest

from app.accounts import clean_name, display_name_problem, has_invisible


@pytest.mark.parametrize("name", ["Alice Sato", "佐藤 花子", "Zoë", "Ａｌｉｃｅ", "🙂 Bob",
                                  "O'Brien-Smith"])
def test_ordinary_names_in_any_script_are_accepted(name):
    assert display_name_problem(name) is None


@pytest.mark.parametrize("char", ["\u200b", "\u200d", "\u200e", "\u202e", "\u2066", "\u2060",
                                  "\ufeff", "\u00ad", "\x00", "\x1b", "\x7f", "\u3164",
                                  "\u2800", "\ue000"])
def test_a_name_with_an_invisible_or_control_character_is_refused(char):
    assert has_invisible(f"Ali{char}ce")
    assert display_name_problem(f"Ali{char}ce") is not None


def test_whitespace_of_any_kind_becomes_single_spaces():
    assert clean_name("  Alice\u3000\u00a0 Sato\n") == "Alice Sato"


def test_empty_and_overlong_names_are_refused():
    assert display_name_problem("") is not None
    assert display_name_problem("x" * 65) is not None
    assert display_name_problem("x" * 64) is None
