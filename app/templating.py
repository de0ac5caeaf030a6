"""Jinja filters shared by pages and streamed fragments."""

from __future__ import annotations

from datetime import UTC, datetime

from babel.dates import format_timedelta
from markupsafe import Markup, escape
from quart import Quart

from app.i18n import current


def iso(value: datetime | None) -> str:
    """ISO 8601 in UTC with a Z, for <time datetime>."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def time_label(value: datetime | None) -> str:
    """A short readable UTC label; the page's script rewrites it in the reader's time zone."""
    if value is None:
        return ""
    if current() == "ja":
        return f"{value.month}月{value.day}日 {value:%H:%M}"
    return f"{value:%b} {value.day}, {value:%H:%M}"


def relative_time(value: datetime) -> Markup:
    """"5 minutes ago" / "5分前" in a <time> the page's script keeps current."""
    delta = value.replace(tzinfo=UTC) - datetime.now(UTC)
    label = format_timedelta(delta, add_direction=True, locale=current(), threshold=1.0)
    return Markup('<time datetime="{}" data-relative>{}</time>').format(iso(value), escape(label))


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
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.filters["time_label"] = time_label
    app.jinja_env.globals["current_lang"] = current
