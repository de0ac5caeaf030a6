"""PostgreSQL going away for a while: pages and POSTs answer 503 with Retry-After and a
message, /sse answers 503 with Retry-After, the log says so once, and all works after."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.faults.cutproxy import CutProxy
from tests.support import Person, Server


@pytest.fixture
def proxied_pg(pg_url):
    proxy = CutProxy(5432).start()
    yield proxy, pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    proxy.close()


def test_a_database_outage_answers_503_and_is_logged_once(tmp_path, proxied_pg):
    proxy, url = proxied_pg
    server = Server(tmp_path / "srv", env={"KEHAI_DATABASE_URL": url}).start()
    try:
        alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
        cid = alice.start_direct("bob")
        proxy.cut()
        began = time.monotonic()
        for _ in range(10):
            page = alice.http.get(f"/c/{cid}")
            assert page.status_code == 503 and page.headers["Retry-After"] == "5"
            assert "Nothing you typed is lost" in page.text
            sent = alice.send(cid, "typed during the outage")
            assert sent.status_code == 503 and "Retry-After" in sent.headers
            stream = httpx.get(server.url + "/sse", cookies=bob.cookies(), timeout=10)
            assert stream.status_code == 503 and "Retry-After" in stream.headers
        proxy.restore()
        deadline = time.monotonic() + 30
        while alice.http.get("/").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        print(f"back {time.monotonic() - began:.1f} s after the cut")
        assert alice.send(cid, "typed after the outage").status_code == 201
        log = server.log.read_text()
        assert log.count("the database unavailable") == 1, log[-3000:]
        assert log.count("the database available again") == 1
        assert "Traceback" not in log
    finally:
        server.stop()
