"""SSE framing is a pure function: whatever the HTML holds, the frame parses back to it."""

from app.realtime.sse import comment, frame


def parse(raw: bytes) -> list[dict[str, str]]:
    """A spec-following reader (as the browser's), enough to check round trips."""
    events, current, data = [], {}, []
    for line in raw.decode().split("\n"):
        if line == "":
            if data or current:
                current["data"] = "\n".join(data)
                events.append(current)
            current, data = {}, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        else:
            current[field] = value
    return events


def test_multi_line_html_arrives_intact_one_data_line_each():
    html = '<div data-event="new-message">\n  <p>hi</p>\n</div>'
    raw = frame(html, event_id="e-1")
    assert raw.count(b"data: ") == 3
    assert parse(raw) == [{"id": "e-1", "data": html}]


def test_blank_lines_inside_html_do_not_end_the_event_early():
    html = "<pre>one\n\nthree</pre>"
    raw = frame(html, event_id="e-2")
    assert b"\n\n" not in raw[:-2]
    assert parse(raw)[0]["data"] == html


def test_unicode_survives_as_utf8():
    html = "<p>既読 — こんにちは 👋</p>"
    assert parse(frame(html, event_id="e-3"))[0]["data"] == html


def test_carriage_returns_in_user_text_cannot_inject_fields():
    hostile = "<p>x\revent: close\r\ndata: pwned\rid: 999</p>"
    events = parse(frame(hostile, event_id="e-4"))
    assert len(events) == 1
    assert events[0]["id"] == "e-4"
    assert "event" not in events[0]
    assert all(line.startswith("data") for line in frame(hostile).decode().strip().split("\n"))


def test_id_event_and_retry_fields_cannot_be_broken_by_newlines():
    raw = frame("x", event_id="a\nb", event="close\ndata: y", retry_ms=2000)
    events = parse(raw)
    assert events == [{"id": "a b", "event": "close data: y", "retry": "2000", "data": "x"}]


def test_every_line_ends_in_lf_only():
    raw = frame("a\r\nb", event_id="1") + comment("ping")
    assert b"\r" not in raw
    assert raw.endswith(b"\n\n")


def test_a_comment_dispatches_nothing():
    assert parse(comment("ping")) == []
