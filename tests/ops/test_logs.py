"""What an operator reads on stderr: one format (text or JSON lines), an access line per
request with the user, a line when each stream opens and closes, and an outage said once."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time

import httpx

from app.limits.redis import RedisLimiter
from app.realtime.redis_broker import connect
from tests.support import Person, Server, free_port

BANNER = "Kehai is running on"


def json_lines(server: Server) -> list[dict]:
    lines = [ln for ln in server.log.read_text().splitlines() if ln and BANNER not in ln]
    return [json.loads(ln) for ln in lines]  # every other line is one JSON object


def wait_for_line(server: Server, predicate, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in json_lines(server):
            if predicate(line):
                return line
        time.sleep(0.1)
    raise AssertionError(f"no such log line in {server.log.read_text()[-3000:]}")


async def test_json_logs_carry_requests_streams_and_hypercorn(tmp_path, listen):
    server = Server(tmp_path / "srv", env={"KEHAI_LOG_FORMAT": "json"}).start()
    try:
        alice = Person(server.url, "alice")
        alice.http.get("/")
        stream = await listen(alice)
        await stream.close()
        # Hypercorn's own line, through the same handler (written within its flush interval;
        # a single read of the file once failed on a loaded machine)
        wait_for_line(server, lambda ln: ln["logger"] == "hypercorn.error")
        lines = json_lines(server)
        assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
        health = wait_for_line(server, lambda ln: ln.get("path") == "/healthz")
        assert health["method"] == "GET" and health["status"] == 200
        assert health["user_id"] is None and isinstance(health["duration_ms"], float)
        page = wait_for_line(server, lambda ln: ln.get("path") == "/" and ln.get("user_id"))
        assert page["status"] == 200 and page["logger"] == "kehai.access"
        opened = wait_for_line(server, lambda ln: "open" in ln["message"]
                               and ln["logger"] == "kehai.stream")
        closed = wait_for_line(server, lambda ln: ln.get("reason") == "client gone")
        assert opened["user_id"] == closed["user_id"] == page["user_id"]
        assert closed["duration_s"] >= 0
    finally:
        server.stop()


def test_text_logs_at_warning_level_leave_out_access_lines(tmp_path):
    server = Server(tmp_path / "srv", env={"KEHAI_LOG_LEVEL": "warning"}).start()
    try:
        for _ in range(3):
            httpx.get(server.url + "/healthz")
        httpx.get(server.url + "/login")
    finally:
        server.stop()
    text = server.log.read_text()
    assert "/healthz" not in text and "/login" not in text
    line = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 [A-Z]+ [\w.]+: ")
    for entry in text.splitlines():
        assert BANNER in entry or line.match(entry), entry


async def test_a_redis_outage_is_logged_once_without_a_traceback(caplog):
    gone = connect(f"redis://127.0.0.1:{free_port()}/0")  # the app's own client settings
    limiter = RedisLimiter(gone, "kehai-test:")
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="app.limits.redis"):
        for _ in range(5):  # fail open: nobody is refused while Redis is away
            assert await limiter.hit("user:1", 10, 10.0) is None
    # ...and at once: the client's default retries held each call ~8 s (a POST twice that).
    assert time.monotonic() - began < 3
    await gone.aclose()
    assert len(caplog.records) == 1, [r.getMessage() for r in caplog.records]
    assert caplog.records[0].exc_info is None
    assert "unavailable" in caplog.records[0].getMessage()
    await asyncio.sleep(0)


def test_log_lines_are_written_together_soon_and_a_warning_at_once():
    import io

    from app.logs import BatchedStreamHandler, TextFormatter

    out = io.StringIO()
    handler = BatchedStreamHandler(out)
    handler.setFormatter(TextFormatter())
    log = logging.getLogger("kehai.test-batched")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        log.info("stream 1 open")
        log.info("stream 2 open")
        deadline = time.monotonic() + 5
        while "stream 2 open" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert re.findall(r"stream (\d) open", out.getvalue()) == ["1", "2"]
        log.warning("the database is unavailable")  # not held back at all
        assert out.getvalue().rstrip().endswith("WARNING kehai.test-batched: the database is unavailable")
    finally:
        log.removeHandler(handler)
        log.setLevel(logging.NOTSET)
