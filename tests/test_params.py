"""bounded_int: every integer from a client lands inside its bounds, or is the default."""

from __future__ import annotations

import pytest

from app.web.params import MAX_ID, bounded_int


@pytest.mark.parametrize(("raw", "expected"), [
    ("7", 7), (" 7 ", 7), ("-99999999999999999999", None), ("0", 1), ("-5", 1),
    ("99999999999999999999", None), (str(MAX_ID), 100), ("١", None), ("1_000", None),
    ("²", None), ("", None), ("9" * 5000, None),
])
def test_a_page_number_is_clamped_or_the_default(raw, expected):
    assert bounded_int({"page": raw}, "page", 1, 100) == expected


def test_a_nineteen_digit_number_is_clamped_to_the_largest_id():
    assert bounded_int({"before": "9" * 19}, "before", 0, MAX_ID) == MAX_ID
    assert bounded_int({"before": "-" + "9" * 19}, "before", 0, MAX_ID) == 0


def test_a_missing_value_is_the_default():
    assert bounded_int({}, "page", 1, 10, default=1) == 1


def test_without_clamping_an_out_of_range_value_is_the_default():
    assert bounded_int({"up_to": "-1"}, "up_to", 0, MAX_ID, clamp=False) is None
    assert bounded_int({"up_to": "12"}, "up_to", 0, MAX_ID, clamp=False) == 12
