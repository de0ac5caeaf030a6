"""Two app processes on PostgreSQL + Redis keep every guarantee of one."""

from __future__ import annotations

import asyncio
import signal

import httpx

from tests.support import Person


def dot(event, username: str, status: str) -> bool:
    return (f'data-presence-of="{username}"' in event.data
            and f'data-status="{status}"' in event.data)


async def test_a_message_posted_on_a_reaches_a_stream_on_b(cluster, listen):
    a, b = cluster(2)
    alice = Person(a.url, "alice")
    Person(a.url, "bob").close()
    bob = Person(b.url, "bob", register=False)
    assert bob.login().status_code == 303
    cid = alice.start_direct("bob")
    stream = await listen(bob)
    assert alice.send(cid, "across processes").status_code == 201
    await stream.wait_text("across processes")


async def test_resume_on_b_with_an_id_issued_by_a(cluster, listen):
    a, b = cluster(2)
    alice, bob = Person(a.url, "alice"), Person(a.url, "bob")
    cid = alice.start_direct("bob")
    on_a = await listen(bob)
    alice.send(cid, "first")
    seen = await on_a.wait_text("first")
    await on_a.close()
    alice.send(cid, "missed one")
    alice.send(cid, "missed two")
    bob_b = Person(b.url, "bob", register=False)
    bob_b.http.cookies.update(bob.cookies())
    on_b = await listen(bob_b, last_event_id=seen.id)
    await on_b.wait_text("missed two")
    texts = [e.data for e in on_b.of_kind("new-message")]
    assert "missed one" in texts[0] and "missed two" in texts[1] and len(texts) == 2
    assert "resync" not in on_b.kinds


async def test_a_user_with_tabs_on_a_and_b_stays_online_when_as_tab_closes(cluster, listen):
    a, b = cluster(2)
    alice, bob = Person(a.url, "alice"), Person(a.url, "bob")
    alice.start_direct("bob")
    watcher = await listen(bob)
    tab_a = await listen(alice)
    alice_b = Person(b.url, "alice", register=False)
    alice_b.http.cookies.update(alice.cookies())
    tab_b = await listen(alice_b)
    await watcher.wait_for(lambda e: dot(e, "alice", "online"))
    await tab_a.close()
    await asyncio.sleep(2.0)  # grace (1 s) passed
    assert not any(dot(e, "alice", "offline") for e in watcher.events)
    await tab_b.close()
    await watcher.wait_for(lambda e: dot(e, "alice", "offline"), timeout=5)


async def test_sigkill_of_a_takes_its_users_offline_on_b_within_the_lease(cluster, listen):
    a, b = cluster(2)
    alice, bob = Person(a.url, "alice"), Person(a.url, "bob")
    alice.start_direct("bob")
    bob_b = Person(b.url, "bob", register=False)
    bob_b.http.cookies.update(bob.cookies())
    watcher = await listen(bob_b)
    tab = await listen(alice)
    await watcher.wait_for(lambda e: dot(e, "alice", "online"))
    a.stop(signal.SIGKILL)
    await tab.close()
    # lease 3 s, renewed/swept every 1 s: offline within about 4 s, never stuck
    await watcher.wait_for(lambda e: dot(e, "alice", "offline"), timeout=8)


async def test_rate_limits_are_shared_by_the_processes(cluster):
    a, b = cluster(2)
    alice = Person(a.url, "alice")
    Person(a.url, "bob").close()
    cid = alice.start_direct("bob")
    alice_b = Person(b.url, "alice", register=False)
    alice_b.http.cookies.update(alice.cookies())
    alice_b.csrf = alice.csrf
    codes = [(alice if n % 2 else alice_b).send(cid, f"m{n}").status_code for n in range(21)]
    assert codes[:20] == [201] * 20 and codes[20] == 429


async def test_healthz_reports_both_database_and_broker(cluster):
    (a,) = cluster(1)
    r = httpx.get(a.url + "/healthz")
    assert r.status_code == 200 and "database: ok" in r.text and "broker: ok" in r.text
    metrics = httpx.get(a.url + "/metrics").text
    assert "kehai_open_streams" in metrics and "kehai_delivery_latency_seconds_bucket" in metrics


class PrivateRedis:
    """A Redis server of this test's own, so it can be restarted without touching others."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc = None

    def start(self) -> None:
        import shutil
        import subprocess
        import time

        import redis

        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for the restart test"
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--save", "",
                                      "--appendonly", "no", "--bind", "127.0.0.1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
        raise RuntimeError("private redis did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


async def test_a_redis_restart_resyncs_streams_and_later_messages_still_arrive(
        tmp_path, pg_url, listen):
    from tests.support import Server, free_port

    private = PrivateRedis(free_port())
    private.start()
    env = {"KEHAI_DATABASE_URL": pg_url, "KEHAI_REDIS_URL": f"redis://127.0.0.1:{private.port}/0",
           "KEHAI_SECRET_KEY": "restart-test"}
    a = Server(tmp_path / "a", env=env).start()
    b = Server(tmp_path / "b", env=env).start()
    try:
        alice, bob = Person(a.url, "alice"), Person(a.url, "bob")
        cid = alice.start_direct("bob")
        bob_b = Person(b.url, "bob", register=False)
        bob_b.http.cookies.update(bob.cookies())
        first = await listen(bob_b)
        alice.send(cid, "before the outage")
        last = await first.wait_text("before the outage")
        private.stop()
        assert alice.send(cid, "during the outage").status_code == 201  # stored, not lost
        private.start()
        # Once the subscriber is back, every stream is told to resume (it may have missed some).
        await asyncio.wait_for(first.ended.wait(), 15)
        for _ in range(50):  # the client's reconnect loop, as htmx does it
            again = await listen(bob_b, last_event_id=last.id)
            if again.status == 200:
                break
            await asyncio.sleep(0.2)
        resync = await again.wait_for(lambda e: True, timeout=5)
        assert 'data-event="resync"' in resync.data
        page = bob_b.http.get(f"/c/{cid}").text
        assert "during the outage" in page  # what the resync re-fetches
        for _ in range(50):
            if alice.send(cid, "after the outage").status_code == 201:
                break
        await again.wait_text("after the outage", timeout=10)
    finally:
        a.stop()
        b.stop()
        private.stop()


async def test_run_py_workers_2_serves_one_port_and_stops_together(tmp_path, pg_url, redis_prefix,
                                                                   listen):
    from tests.scaleout.conftest import REDIS_URL
    from tests.support import Server

    env = {"KEHAI_DATABASE_URL": pg_url, "KEHAI_REDIS_URL": REDIS_URL,
           "KEHAI_REDIS_PREFIX": redis_prefix}
    server = Server(tmp_path / "w", env=env, args=["--workers", "2"]).start()
    try:
        alice, bob = Person(server.url, "alice"), Person(server.url, "bob")
        cid = alice.start_direct("bob")
        streams = [await listen(bob) for _ in range(4)]  # spread over both workers
        alice.send(cid, "to every worker")
        for stream in streams:
            await stream.wait_text("to every worker")
    finally:
        took = await asyncio.to_thread(server.stop)
    assert took < 5


async def test_typing_started_on_a_is_cleared_by_a_send_on_b(cluster, listen):
    a, b = cluster(2)
    alice, bob = Person(a.url, "alice"), Person(a.url, "bob")
    cid = alice.start_direct("bob")
    alice_b = Person(b.url, "alice", register=False)
    alice_b.http.cookies.update(alice.cookies())
    alice_b.csrf = alice.csrf
    watcher = await listen(bob)
    assert alice.post(f"/c/{cid}/typing", {"body": "x"}).status_code == 204
    await watcher.wait_for(lambda e: "Alice is typing" in e.data)
    assert alice_b.send(cid, "sent through the other process").status_code == 201
    await watcher.wait_text("sent through the other process")
    stop = await watcher.wait_for(lambda e: 'data-event="typing-stop"' in e.data, timeout=1.0)
    assert "is typing" not in stop.data
