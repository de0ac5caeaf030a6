"""HEAD /sse opens no stream: it neither counts against the user's streams nor shows them online."""

import httpx

from tests.support import Person


async def test_head_on_the_stream_is_refused_and_opens_nothing(server):
    alice = Person(server.url, "alice")
    for _ in range(12):  # more than the 10 streams a user may hold
        r = httpx.head(server.url + "/sse", cookies=alice.cookies(), timeout=5)
        assert r.status_code == 405
        assert r.headers["Allow"] == "GET"
    metrics = httpx.get(server.url + "/metrics", timeout=5).text
    assert "kehai_open_streams 0" in metrics
    with httpx.stream("GET", server.url + "/sse", cookies=alice.cookies(), timeout=5) as r:
        assert r.status_code == 200  # her own stream still opens


async def test_head_through_quart_is_refused_too(app, make_user):
    alice = await make_user("alice")
    r = await alice.client.head("/sse")
    assert r.status_code == 405
    assert app.kehai.hub.open_streams() == 0
