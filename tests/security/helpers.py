"""Attack-suite helpers: a spec-exact SSE reader, HTML structure checks, the payload corpus."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no csrf-token meta in the page"
    return found.group(1)


# --------------------------------------------------------------------------------------------
# Server-Sent Events, parsed the way the WHATWG spec and htmx's hx-sse parse them
# --------------------------------------------------------------------------------------------

# Lines end at CRLF, CR or LF only. (httpx's line decoder also splits at U+2028, NEL, VT...,
# like str.splitlines(); a browser does not, so the raw bytes are parsed here instead.)
_EOL = re.compile(r"\r\n|\r|\n")


@dataclass
class Frame:
    """One block of lines up to a blank line: its fields in order, and what it dispatches."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [name for name, _value in self.fields]

    @property
    def data(self) -> str:
        return "\n".join(v for n, v in self.fields if n == "data")

    @property
    def event(self) -> str:
        values = [v for n, v in self.fields if n == "event"]
        return values[-1] if values else ""

    @property
    def id(self) -> str | None:
        values = [v for n, v in self.fields if n == "id"]
        return values[-1] if values else None

    @property
    def dispatches(self) -> bool:
        """A block without data dispatches nothing (comments, pings)."""
        return "data" in self.names

    @property
    def kind(self) -> str:
        if self.event:
            return self.event
        found = re.search(r'data-event="([a-z-]+)"', self.data)
        return found.group(1) if found else ""


def parse_line(line: str) -> tuple[str, str] | None:
    """(field, value) of one line; None for a comment."""
    if line.startswith(":"):
        return None
    name, sep, value = line.partition(":")
    if sep and value.startswith(" "):
        value = value[1:]
    return name, value


class RawStream:
    """GET /sse, kept open in the background; every frame exactly as a browser would see it."""

    def __init__(self, base_url: str, cookies: dict[str, str], last_event_id: str | None = None,
                 lang: str = "en", query: str = "") -> None:
        headers = {"Accept": "text/event-stream", "Accept-Language": lang}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.client = httpx.AsyncClient(base_url=base_url, cookies=cookies, headers=headers,
                                        timeout=httpx.Timeout(10, read=60))
        self.path = "/sse" + query
        self.raw = bytearray()
        self.frames: list[Frame] = []
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self.body = b""
        self.opened = asyncio.Event()
        self.ended = asyncio.Event()
        self._changed = asyncio.Condition()
        self._current = Frame()
        self.task = asyncio.create_task(self._run())

    @property
    def events(self) -> list[Frame]:
        """Frames that dispatch an event (pings and other comments left out)."""
        return [f for f in self.frames if f.dispatches]

    async def _run(self) -> None:
        try:
            async with self.client.stream("GET", self.path) as response:
                self.status, self.headers = response.status_code, response.headers
                self.opened.set()
                if response.status_code != 200:
                    self.body = await response.aread()
                    return
                decoder = codecs.getincrementaldecoder("utf-8")()
                pending = ""
                async for chunk in response.aiter_raw():
                    self.raw += chunk
                    pending += decoder.decode(chunk)
                    while (m := _EOL.search(pending)) is not None:
                        if m.group() == "\r" and m.end() == len(pending):
                            break  # maybe the first half of a CRLF split across chunks
                        line, pending = pending[:m.start()], pending[m.end():]
                        await self._line(line)
        except (httpx.HTTPError, httpx.StreamError):
            pass
        finally:
            self.opened.set()
            self.ended.set()
            async with self._changed:
                self._changed.notify_all()

    async def _line(self, line: str) -> None:
        if line == "":
            frame, self._current = self._current, Frame()
            if frame.fields or frame.comments:
                async with self._changed:
                    self.frames.append(frame)
                    self._changed.notify_all()
            return
        parsed = parse_line(line)
        if parsed is None:
            self._current.comments.append(line)
        else:
            self._current.fields.append(parsed)

    async def wait_for(self, predicate, within: float = 5.0) -> Frame:
        async def find() -> Frame:
            async with self._changed:
                while True:
                    for frame in self.events:
                        if predicate(frame):
                            return frame
                    if self.ended.is_set():
                        raise AssertionError("the stream ended before the expected event")
                    await self._changed.wait()

        return await asyncio.wait_for(find(), within)

    async def wait_text(self, text: str, within: float = 5.0) -> Frame:
        return await self.wait_for(lambda f: text in f.data, within)

    async def first(self, within: float = 5.0) -> Frame:
        return await self.wait_for(lambda f: True, within)

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        await self.client.aclose()


# --------------------------------------------------------------------------------------------
# HTML structure: what a browser would build from the markup
# --------------------------------------------------------------------------------------------


class Markup(HTMLParser):
    """Every start tag with its attributes, and the text and child tags of each message body."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.bodies: dict[str, dict[str, object]] = {}
        self._article: str | None = None
        self._body: dict[str, object] | None = None
        self._depth = 0
        # The HTML input stream is preprocessed so: CRLF and lone CR become LF.
        self.feed(html.replace("\r\n", "\n").replace("\r", "\n"))
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if self._body is not None:
            self._body["children"].append(tag)  # type: ignore[union-attr]
            if tag not in VOID:
                self._depth += 1
            return
        if tag == "article":  # a message, or the outbox's empty stand-in (no id)
            self._article = found.get("data-message-id")
        if tag == "div" and "message-body" in (found.get("class") or "").split():
            self._body = {"text": "", "children": []}
            self.bodies[self._article or f"?{len(self.bodies)}"] = self._body
            self._depth = 0

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if self._body is not None:
            self._body["children"].append(tag)  # type: ignore[union-attr]

    def handle_endtag(self, tag: str) -> None:
        if self._body is not None:
            if self._depth == 0 and tag == "div":
                self._body = None
            elif tag not in VOID:
                self._depth -= 1

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._body is not None:
            self._body["text"] += data  # type: ignore[operator]

    def count(self, tag: str) -> int:
        return sum(1 for t, _a in self.tags if t == tag)

    @property
    def text(self) -> str:
        """All text of the document, as a reader sees it (entities decoded)."""
        return "".join(self.texts)

    def attributes(self, tag: str, **match: str) -> list[dict[str, str | None]]:
        """Attributes of every `tag` whose attributes include `match` (name_="x" for name)."""
        want = {k.rstrip("_").replace("_", "-"): v for k, v in match.items()}
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in want.items())]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# Elements the app never renders from its own templates (the favicon link and the four
# static scripts are checked separately).
NEVER = {"iframe", "frame", "frameset", "object", "embed", "base", "svg", "math", "img",
         "template", "style", "noscript", "audio", "video", "source", "applet", "portal",
         "mglyph", "mtext", "image", "use", "marquee", "isindex", "xmp", "plaintext"}
APP_TEMPLATES = {"outbox-item", "edit-form", "room-gone", "unread-divider"}
APP_TRIGGERS = {"kehai:resync from:body", "input changed throttle:2s",
                "kehai:resync from:body, kehai:refresh-list from:body"}


def _squash(value: str) -> str:
    return re.sub(r"[\x00-\x20]", "", value).lower()


def dangerous_markup(html: str, hx_partials: int = 0) -> list[str]:
    """What in this HTML could run script, load something foreign or steer htmx.

    Empty for every page and fragment the app renders from its own templates, whatever the
    data in them; `hx_partials` is the number of <hx-partial> the template itself has.
    """
    problems: list[str] = []
    markup = Markup(html)
    partials = 0
    for tag, attrs in markup.tags:
        where = f"<{tag} {attrs}>"
        # The dashboard's charts are the one <svg> of the app's own (dashboard/_charts.html),
        # and the composer's outbox item, the message edit form and the "no longer a member"
        # notice the only <template>s (conversations/show.html);
        # handlers on them are still caught below, like anywhere else.
        if tag in NEVER and not ((tag == "svg" and attrs.get("class") == "chart-svg")
                                 or (tag == "template" and (attrs.get("id") in APP_TEMPLATES
                                                               or "data-unread-counts" in attrs))):
            problems.append(f"element {where}")
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            problems.append(f"inline script {where}")
        href = attrs.get("href") or ""
        if tag == "link" and not (
                (attrs.get("rel") == "stylesheet" and href.startswith("/static/"))
                or (attrs.get("rel") == "icon" and href.startswith("data:image/svg+xml"))):
            problems.append(f"link {where}")
        if tag == "meta" and "http-equiv" in attrs:
            problems.append(f"meta refresh {where}")
        if tag == "hx-partial":
            partials += 1
            if attrs.get("hx-target") in ("body", "html", "head"):
                problems.append(f"partial aimed at the page {where}")
        if tag == "form" and not (attrs.get("action") or "/").startswith("/"):
            problems.append(f"foreign form {where}")
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("on"):
                problems.append(f"event handler {name} on {where}")
            if name in ("hx-on", "hx-swap-oob", "hx-sse:connect") or name.startswith("hx-on"):
                if not (name == "hx-sse:connect" and tag == "div" and attrs.get("id") == "stream"):
                    problems.append(f"{name} on {where}")
            if name == "hx-trigger" and value not in APP_TRIGGERS:
                problems.append(f"hx-trigger {value!r} on {where}")
            if name.startswith("hx-") and "logout" in value:
                problems.append(f"{name}={value!r} on {where}")
            if name in ("href", "src", "action", "formaction", "data", "srcdoc", "xlink:href",
                        "style", "background", "poster"):
                squashed = _squash(value)
                if squashed.startswith(("javascript:", "vbscript:", "data:text")) \
                        or "javascript:" in squashed or name == "srcdoc":
                    problems.append(f"{name}={value!r} on {where}")
                foreign = squashed.startswith(("//", "http:", "https:"))
                if name in ("src", "href", "action", "data") and foreign:
                    problems.append(f"foreign {name}={value!r} on {where}")
    if partials != hx_partials:
        problems.append(f"{partials} <hx-partial> elements where the template has {hx_partials}")
    return problems


def shown_text(payload: str) -> str:
    """What a message body shows: trimmed, line breaks as the HTML parser normalises them."""
    return re.sub(r"\r\n?", "\n", payload.strip())


def one_line(payload: str) -> str:
    """A display name or title as the forms store them: whitespace runs collapsed."""
    return " ".join(payload.split())


def browser_destination(location: str, base: str = "http://kehai.test/login") -> str:
    """The host a browser would go to for this Location header (WHATWG URL rules, roughly).

    Browsers drop tabs and newlines anywhere in a URL, trim C0 controls and spaces at its
    ends, and read a backslash as a slash in http(s) URLs.
    """
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(0x21))))
    cleaned = cleaned.replace("\\", "/")
    return urlsplit(urljoin(base, cleaned)).netloc


# --------------------------------------------------------------------------------------------
# The corpus: each payload tries to run `window.__xss++` or `alert`, load something, steer
# htmx, or smuggle SSE fields. (label, payload)
# --------------------------------------------------------------------------------------------

XSS = "window.__xss++"
CORPUS: list[tuple[str, str]] = [
    ("script", f"<script>{XSS}</script>"),
    ("script-alert", "<script>alert(document.domain)</script>"),
    ("img-onerror", f"<img src=x onerror={XSS}>"),
    ("svg-onload", f"<svg onload={XSS}>"),
    ("svg-script", f"<svg><script>{XSS}</script></svg>"),
    ("math-mxss", f"<math><mtext><table><mglyph><style><img src=x onerror={XSS}>"),
    ("iframe-srcdoc", '<iframe srcdoc="<script>parent.__xss++</script>"></iframe>'),
    ("iframe-javascript", '<iframe src="javascript:parent.__xss++">'),
    ("a-javascript", f'<a href="javascript:{XSS}">click me</a>'),
    ("javascript-url", f"javascript:{XSS}//"),
    ("break-double-quote", f'"><script>{XSS}</script>'),
    ("break-single-quote", f"'><img src=x onerror={XSS}>"),
    ("break-unquoted", f"x onmouseover={XSS} autofocus onfocus={XSS}"),
    ("unclosed-img", f'<img src="x" onerror="{XSS}"'),
    ("unclosed-comment", "<!-- everything after me is hidden"),
    ("close-the-page", f"</div></article></main><script>{XSS}</script>"),
    ("nested-script", f"<scr<script>ipt>{XSS}</scr</script>ipt>"),
    ("details-ontoggle", f"<details open ontoggle={XSS}>"),
    ("input-autofocus", f"<input autofocus onfocus={XSS}>"),
    ("body-onload", f"<body onload={XSS}>"),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=/logout">'),
    ("base-href", '<base href="//evil.example/">'),
    ("object-data", f'<object data="javascript:{XSS}"></object>'),
    ("template", f"<template><img src=x onerror={XSS}></template>"),
    ("noscript", f'<noscript><p title="</noscript><img src=x onerror={XSS}>">'),
    ("style-import", '<style>@import "//evil.example/x.css";</style>'),
    ("css-url", f'<div style="background:url(javascript:{XSS})">x</div>'),
    ("hx-partial-breakout", "</hx-partial><hx-partial hx-target=body hx-swap=innerHTML>pwned"),
    ("hx-partial-presence", '<hx-partial hx-target="[data-presence-of]" hx-swap="outerHTML">x'),
    ("hx-get-logout", "<div hx-get=/logout hx-trigger=load>x</div>"),
    ("hx-post-logout", '<form hx-post="/logout" hx-trigger="load"></form>'),
    ("hx-on", f'<button hx-on:click="{XSS}">hi</button>'),
    ("hx-swap-oob", '<div id="flash" hx-swap-oob="true">pwned</div>'),
    ("hx-sse-connect", '<div hx-sse:connect="/logout">x</div>'),
    ("data-event-spoof", '<i hidden data-event="close"></i> data-event="resync"'),
    ("template-syntax", "{{7*7}} {% if 1 %}x{% endif %} ${7*7} #{7*7} <%= 7*7 %>"),
    ("pre-escaped", f"&lt;script&gt;{XSS}&lt;/script&gt; &amp; &#60;b&#62;"),
    ("percent-encoded", "%3Cscript%3Ewindow.__xss%2B%2B%3C%2Fscript%3E"),
    ("rtl-override", f"\u202egnp.exe<script>{XSS}</script>"),
    ("zero-width", f"<scr\u200bipt>{XSS}</scr\u200bipt>\u200b\u200d\ufeff"),
    ("full-width", f"＜script＞{XSS}＜/script＞ ＜img src=x onerror={XSS}＞"),
    ("cjk-emoji", "こんにちは <b>太字</b> 🎉 𝒳"),
    ("sse-close", "x\nevent: close\ndata: y\n\nid: 9"),
    ("sse-leading-crlf", "\r\ndata: x"),
    ("sse-crlf", "a\r\ndata: <i data-event=\"close\"></i>\r\n\r\nid: 1"),
    ("sse-cr", "a\rid: 999\revent: close\r\rdata: y"),
    ("sse-retry", "retry: 1\nid: 0-0\n: comment\n\n\ndata: after blank lines"),
    ("sse-unicode-breaks", "a\u2028event: close\u2029data: y\x85id: 7\x0bretry: 1\x0c."),
    ("long", f"<script>{XSS}</script>" * 100),
]
assert len(CORPUS) >= 30 and len({label for label, _p in CORPUS}) == len(CORPUS)
PAYLOADS = [p for _label, p in CORPUS]
LABELS = [label for label, _p in CORPUS]
# As a display name (≤ 64) or a group title (≤ 80), after the forms collapse whitespace.
# Display names refuse invisible format characters (Unicode category Cf: impersonation, see
# test_round_two_conversations), so payloads carrying them are tried as titles and bodies only.
NAME_CORPUS = [(label, p) for label, p in CORPUS if 0 < len(one_line(p)) <= 64
               and not any(unicodedata.category(c) == "Cf" for c in p)]
TITLE_CORPUS = [(label, p) for label, p in CORPUS if 0 < len(one_line(p)) <= 80]


# --------------------------------------------------------------------------------------------
# /sse through the Quart test client (streams there work: the first frame, then disconnect)
# --------------------------------------------------------------------------------------------


async def first_sse_frame(client, headers: dict | None = None, query: str = "",
                          within: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, first body chunk) of GET /sse; the stream is closed afterwards."""
    async with client.request("/sse" + query, headers=headers or {}) as conn:
        await conn.send_complete()
        try:
            first = await asyncio.wait_for(conn.receive(), within)
        finally:
            await conn.disconnect()
    return conn.status_code, dict(conn.headers or {}), first


def frames_of(raw: bytes) -> list[Frame]:
    """Parse a complete chunk of SSE bytes into frames (spec line endings)."""
    frames, current = [], Frame()
    for line in _EOL.split(raw.decode("utf-8")):
        if line == "":
            if current.fields or current.comments:
                frames.append(current)
            current = Frame()
            continue
        parsed = parse_line(line)
        if parsed is None:
            current.comments.append(line)
        else:
            current.fields.append(parsed)
    return frames
