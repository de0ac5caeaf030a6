"""Selectors built from data: always a quoted, escaped CSS string."""

from __future__ import annotations

import pytest

from app.templating import attr_selector, css_string


@pytest.mark.parametrize(("value", "quoted"), [
    ("0day", '"0day"'),
    ("__", '"__"'),
    (42, '"42"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("two\nlines", '"two\\a lines"'),
    ("nul\0", '"nul\ufffd"'),
    ("名前", '"名前"'),
])
def test_a_value_becomes_a_css_string_that_means_exactly_that_value(value, quoted):
    assert css_string(value) == quoted


def test_an_attribute_selector_quotes_a_username_that_starts_with_a_digit():
    assert attr_selector("data-presence-of", "0123") == '[data-presence-of="0123"]'
