"""Jinja filters shared by pages and streamed fragments."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from babel.dates import format_timedelta
from flask.templating import _default_template_ctx_processor as flask_default_processor
from markupsafe import Markup, escape
from quart import Quart

from app.i18n import _, current


def iso(value: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, for <time datetime>."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def time_label(value: datetime | None) -> str:
    """A short readable UTC label; the page's script rewrites it in the reader's time zone."""
    if value is None:
        return ""
    # Not strftime: its %b is the C locale's month name anyway, and it is slower.
    if current() == "ja":
        return f"{value.month}月{value.day}日 {value.hour:02d}:{value.minute:02d}"
    return f"{_MONTHS[value.month - 1]} {value.day}, {value.hour:02d}:{value.minute:02d}"


def relative_time(value: datetime) -> Markup:
    """"5 minutes ago" / "5分前" in a <time> the page's script keeps current."""
    label = _relative_label(value)
    return Markup('<time datetime="{}" data-relative>{}</time>').format(iso(value), escape(label))


def last_seen_phrase(value: datetime) -> Markup:
    """"Last seen 5 minutes ago" as one <time>: under a minute the whole phrase becomes
    "Online just now" (「たった今オンライン」), since "now" does not fit the sentence in every
    language (「今にオンライン」). static/app.js redraws it from the two data attributes."""
    recent = (datetime.now(UTC) - value.replace(tzinfo=UTC)).total_seconds() < 60
    phrase = _("Last seen %(when)s", when="{when}")
    just_now = _("Online just now")
    text = just_now if recent else phrase.replace("{when}", _relative_label(value))
    return Markup(
        '<time datetime="{}" data-relative data-phrase="{}" data-just-now="{}">{}</time>'
    ).format(iso(value), phrase, just_now, text)


def _relative_label(value: datetime) -> str:
    delta = value.replace(tzinfo=UTC) - datetime.now(UTC)
    return format_timedelta(delta, add_direction=True, locale=current(), threshold=1.0)


# A link is http(s) and ASCII only: Japanese around a URL (「資料はhttps://example.com/aです」)
# is text, not part of it. Anything else, javascript: and data: included, stays plain text.
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\")]"  # sentence punctuation after a URL is not part of it


_LINK = Markup('<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>')


def _trim(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # a balanced parenthesis belongs to the URL (Wikipedia's "(disambiguation)")
        url = url[:-1]
    return url


def linkify(text: str) -> Markup:
    """The text escaped, with each http(s) URL a link that opens in a new tab and gets
    neither our window (noopener) nor our address (noreferrer)."""
    out: list[str] = []
    pos = 0
    for found in _URL.finditer(text):
        url = _trim(found.group(0))
        if "://" not in url or url.endswith("://"):
            continue
        out.append(escape(text[pos:found.start()]))
        out.append(_LINK.format(url))
        pos = found.start() + len(url)
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def css_string(value: object) -> str:
    """`value` as a quoted CSS string, serialised as CSSOM does ("serialize a string").

    An unquoted attribute value must be a CSS identifier: `[data-presence-of=0day]` is an
    invalid selector, the swap throws and hx-sse reconnects (docs/ARCHITECTURE.md, "Known
    traps"). Quoted, any value is valid. The result is plain text: Jinja still escapes it
    for the HTML attribute it goes into."""
    out = []
    for char in str(value):
        if char == "\0":
            out.append("\ufffd")
        elif char < " " or char == "\x7f":
            out.append(f"\\{ord(char):x} ")
        elif char in '"\\':
            out.append("\\" + char)
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def attr_selector(name: str, value: object) -> str:
    """`[name="value"]`: the one way a selector is built from data (hx-target, ...)."""
    return f"[{name}={css_string(value)}]"


def install_filters(app: Quart) -> None:
    app.jinja_env.globals["attr_selector"] = attr_selector
    app.jinja_env.filters["css_string"] = css_string
    app.jinja_env.globals["relative_time"] = relative_time
    app.jinja_env.globals["last_seen_phrase"] = last_seen_phrase
    app.jinja_env.filters["linkify"] = linkify
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.filters["time_label"] = time_label
    app.jinja_env.globals["current_lang"] = current


def drop_threaded_processors(app: Quart) -> None:
    """Every blueprint carries Flask's default context processor (Quart's blueprints come from
    Flask's), a plain function Quart runs in a thread for every render: a pool hop per
    template. Under Quart it finds no Flask context and adds nothing; Quart's own processor
    on the app supplies g, request and session. Call once every blueprint is registered."""
    for processors in app.template_context_processors.values():
        processors[:] = [p for p in processors if p is not flask_default_processor]
