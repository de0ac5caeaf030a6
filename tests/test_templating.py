"""Selectors built from data: always a quoted, escaped CSS string."""

from __future__ import annotations

import pytest

from app.templating import attr_selector, css_string, linkify


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


# -- linkify: the one place a message body becomes HTML ---------------------------------------
LINK = '<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>'


@pytest.mark.parametrize(("text", "html"), [
    ("see https://example.com/a", "see " + LINK.format("https://example.com/a")),
    ("http://example.com.", LINK.format("http://example.com") + "."),
    ("(https://example.com/x), ok!", "(" + LINK.format("https://example.com/x") + "), ok!"),
    ("https://en.wikipedia.org/wiki/Kehai_(film)", LINK.format("https://en.wikipedia.org/wiki/Kehai_(film)")),
    ("資料はhttps://example.com/docsです。", "資料は" + LINK.format("https://example.com/docs") + "です。"),
    ("「https://example.com/」を見て", "「" + LINK.format("https://example.com/") + "」を見て"),
    ("HTTPS://EXAMPLE.COM", LINK.format("HTTPS://EXAMPLE.COM")),
])
def test_an_http_url_in_a_message_becomes_a_link_and_its_surroundings_stay_text(text, html):
    assert str(linkify(text)) == html


@pytest.mark.parametrize("text", [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "ftp://example.com/file",
    "https://",
])
def test_only_http_and_https_become_links(text):
    assert "<a" not in str(linkify(text))


def test_markup_in_a_message_is_escaped_around_and_inside_a_link():
    html = str(linkify('<script>alert(1)</script> https://e.com/?q="x"&y=<b> \'quoted\''))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<a ") == 1
    assert 'href="https://e.com/?q="' in html  # the quote ends the URL, it never ends the attribute
    assert "&amp;y=&lt;b&gt;" in html and "&#39;quoted&#39;" in html


def test_a_message_without_a_url_is_only_escaped():
    assert str(linkify("a < b & c\n次の行")) == "a &lt; b &amp; c\n次の行"
