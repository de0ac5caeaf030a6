"""/metrics as Prometheus reads it: help and type for every family, counters at zero from the
start, base units, buckets that hold a backlog, process figures, and one view per worker."""

from __future__ import annotations

import asyncio
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.realtime import kinds
from tests.scaleout.conftest import REDIS_URL
from tests.support import Person, Server, free_port

PUBLISHED = {kinds.USER_ONLINE, kinds.USER_AWAY, kinds.USER_OFFLINE, kinds.TYPING_START,
             kinds.TYPING_STOP, kinds.NEW_MESSAGE, kinds.MESSAGE_READ}


def scrape(url: str) -> dict:
    r = httpx.get(url + "/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def value(families: dict, sample_name: str, **labels: str) -> float:
    for sample in (s for family in families.values() for s in family.samples):
        if sample.name == sample_name and all(sample.labels.get(k) == v
                                              for k, v in labels.items()):
            return sample.value
    raise AssertionError(f"no sample {sample_name} {labels}")


def test_every_family_follows_the_naming_rules(server):
    families = scrape(server.url)
    for name, family in families.items():
        assert family.documentation.strip(), f"{name} has no help"
        assert family.type in ("counter", "gauge", "histogram", "summary", "info"), name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), name
        if any(word in name for word in ("latency", "duration", "_time")):
            assert name.endswith(("_seconds", "_seconds_total")), f"{name}: not in seconds"
        if "memory" in name:
            assert name.endswith("_bytes"), f"{name}: not in bytes"
    assert families["kehai_broker_reconnects"].type == "counter"
    assert families["kehai_open_streams"].type == "gauge"
    # The process and the garbage collector are there too.
    assert families["process_resident_memory_bytes"].samples[0].value > 0
    assert "python_gc_collections" in families


def test_counters_are_there_at_zero_for_every_kind_before_any_event(server):
    families = scrape(server.url)
    for counter in ("published", "delivered", "dropped", "coalesced", "overflow"):
        name = f"kehai_events_{counter}_total"
        shown = {s.labels["kind"] for s in families[name.removesuffix("_total")].samples}
        assert shown >= PUBLISHED, name
    assert value(families, "kehai_events_delivered_total", kind=kinds.NEW_MESSAGE) == 0
    assert value(families, "kehai_replay_total", result="miss") == 0
    assert value(families, "kehai_broker_reconnects_total") == 0


def test_latency_buckets_reach_from_10_ms_to_a_minute(server):
    histogram = scrape(server.url)["kehai_delivery_latency_seconds"]
    bounds = [float(s.labels["le"]) for s in histogram.samples if s.name.endswith("_bucket")]
    assert bounds[0] == 0.01 and bounds[-1] == float("inf")
    assert 60.0 in bounds and 30.0 in bounds  # a 21–37 s backlog is no longer just "+Inf"


async def test_a_delivered_message_is_counted_and_timed(server, listen):
    alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
    cid = alice.start_direct("bob")
    stream = await listen(bob)
    assert alice.send(cid, "counted").status_code == 201
    await stream.wait_text("counted")
    families = scrape(server.url)
    assert value(families, "kehai_open_streams") == 1
    assert value(families, "kehai_events_published_total", kind=kinds.NEW_MESSAGE) >= 1
    assert value(families, "kehai_events_delivered_total", kind=kinds.NEW_MESSAGE) >= 1
    assert value(families, "kehai_delivery_latency_seconds_count") >= 1


async def test_with_two_workers_each_serves_its_own_figures(tmp_path, pg_url, redis_prefix,
                                                            listen):
    base = free_port()
    while base + 1 == free_port():  # rarely taken; a clash would only fail this test
        base = free_port()
    env = {"KEHAI_DATABASE_URL": pg_url, "KEHAI_REDIS_URL": REDIS_URL,
           "KEHAI_REDIS_PREFIX": redis_prefix, "KEHAI_SECRET_KEY": "s-" + redis_prefix,
           "KEHAI_METRICS_PORT_BASE": str(base)}
    server = Server(tmp_path / "w", env=env, args=["serve", "--workers", "2"]).start()
    try:
        workers = [f"http://127.0.0.1:{base + n}" for n in range(2)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # both workers up, each on its own port
            try:
                [scrape(url) for url in workers]
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
        bob = Person(server.url, "bob")
        await listen(bob)
        await asyncio.sleep(0.3)
        counts = [value(scrape(url), "kehai_open_streams") for url in workers]
        assert sorted(counts) == [0, 1], counts  # the one stream, counted once in all
        assert httpx.get(workers[0] + "/", timeout=5).status_code == 404  # metrics only
    finally:
        server.stop()
