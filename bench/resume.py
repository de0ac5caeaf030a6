#!/usr/bin/env python
"""What a resume costs: CPU per resume against a big Redis log, and memory while many
streams resume a large backlog.

    python bench/resume.py cpu      # 50,000 events in the Redis log, none for the resuming user
    python bench/resume.py memory   # 50 streams resuming a ~5 MB backlog each, not reading

`cpu` publishes through the real RedisBroker (a key prefix of its own, deleted afterwards) and
times `replay()` for a user with none of the events, next to the walk-and-decode replay
Kehai used before the per-user index (reproduced here for the comparison).
`memory` starts `python run.py` (embedded: SQLite, in-process hub), posts the backlog,
opens 50 streams with Last-Event-ID from before it, reads only their headers, and reports
the server's RSS before and while they resume.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import fanout  # noqa: E402  (seeding)

if TYPE_CHECKING:
    from app.realtime.redis_broker import RedisBroker


async def _old_walk(broker: RedisBroker, user_id: int, after_seq: int) -> int:
    """The replay before the index: every entry after the id read and decoded."""
    from app.realtime.events import recipients_on_wire

    found, cursor = 0, f"(0-{after_seq}"
    while batch := await broker.redis.xrange(broker.keys["log"], min=cursor, count=1000):
        for _entry_id, fields in batch:
            if user_id in recipients_on_wire(json.loads(fields["p"])):
                found += 1
        cursor = f"({batch[-1][0]}"
    return found


async def cpu(events: int, url: str) -> None:
    from app.config import Config
    from app.realtime import kinds
    from app.realtime.events import Event
    from app.realtime.redis_broker import RedisBroker, connect

    prefix = f"kehai-bench-{secrets.token_hex(3)}:"
    config = Config(redis_url=url, redis_prefix=prefix, secret_key="x",
                    database_url="sqlite:///:memory:", replay_max_events=events // 10)
    redis = connect(url)
    broker = RedisBroker(config, redis)
    try:
        start = await broker.head()
        body = {"en": "<p>" + "x" * 900 + "</p>", "ja": "<p>" + "x" * 900 + "</p>"}
        for n in range(events):  # rooms of 5 that the resuming user (id 1) is not in
            await broker.publish(Event(kinds.NEW_MESSAGE, frozenset(range(10 + n % 500 * 5,
                                                                           15 + n % 500 * 5)),
                                       body))
        for label, run in (("per-user index (now)", _new), ("walk and decode (before)", _old)):
            t0, c0 = time.perf_counter(), time.process_time()
            rounds = 20 if run is _new else 3
            for _ in range(rounds):
                await run(broker, start)
            cpu_ms = (time.process_time() - c0) / rounds * 1000
            wall_ms = (time.perf_counter() - t0) / rounds * 1000
            print(f"{label:26} {events:,} events in the log: {cpu_ms:8.1f} ms CPU, "
                  f"{wall_ms:8.1f} ms wall per resume")
    finally:
        keys = [k async for k in redis.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def _new(broker: RedisBroker, start) -> None:
    missed = await broker.replay(1, start)
    assert missed is not None
    assert [e async for batch in missed for e in batch] == []


async def _old(broker: RedisBroker, start) -> None:
    assert await _old_walk(broker, 1, start.seq) == 0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(streams: int, backlog_mb: float, redis_url: str) -> None:
    import httpx

    work = Path(tempfile.mkdtemp(prefix="kehai-resume-"))
    secret = secrets.token_urlsafe(16)
    seeded = fanout.seed(work, streams + 1, secret)
    port = fanout.free_port() if hasattr(fanout, "free_port") else _free_port()
    body = "y" * 3900
    count = int(backlog_mb * 2**20 / (len(body) + 1100))
    tuning = {"message_limit": [count * 2, 1.0], "replay_min_events": count + 10,
              "replay_max_events": count + 10, "stream_limit": [1000, 60.0]}
    env = {**os.environ, "KEHAI_INSTANCE_DIR": str(work), "KEHAI_PORT": str(port),
           "KEHAI_SECRET_KEY": secret, "KEHAI_TUNING": json.dumps(tuning)}
    if redis_url:  # the replay then comes from the Redis log, decoded for each stream
        env.update(KEHAI_REDIS_URL=redis_url, KEHAI_REDIS_PREFIX=f"kehai-bench-{secret[:6]}:")
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base)
        sender = httpx.Client(base_url=base, cookies={"kehai_session": seeded["cookies"][0]})
        start = sender.get("/").text.split('since=')[1].split('"')[0]  # as a page would resume
        sender.headers.update({"X-CSRF-Token": seeded["csrf"][0], "HX-Request": "1"})
        cid = seeded["conversation_id"]
        for n in range(count):
            sender.post(f"/c/{cid}/messages", data={"body": f"{n} {body}"}).raise_for_status()
        time.sleep(2)
        before = rss_mib(proc.pid)
        socks = [_open_stream(port, cookie, start) for cookie in seeded["cookies"][1:]]
        time.sleep(5)
        during = rss_mib(proc.pid)
        where = "Redis" if redis_url else "embedded"
        print(f"{where}: {streams} streams resuming {count:,} messages "
              f"(~{backlog_mb:.1f} MB each), "
              f"not reading: RSS {before:.0f} MiB before, {during:.0f} MiB while resuming "
              f"(+{(during - before) / streams:.2f} MiB per stream)")
        for sock in socks:
            sock.close()
    finally:
        proc.terminate()
        proc.wait(15)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(base: str) -> None:
    import httpx

    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def _open_stream(port: int, cookie: str, since: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader's window
    sock.sendall((f"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: kehai_session={cookie}\r\n"
                  f"Last-Event-ID: {since}\r\n\r\n").encode())
    head = sock.recv(512)  # the status line and headers; the body is left unread
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise SystemExit(f"the stream was refused: {head[:200]!r}")
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("cpu")
    c.add_argument("--events", type=int, default=50_000)
    c.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    m = sub.add_parser("memory")
    m.add_argument("--streams", type=int, default=50)
    m.add_argument("--backlog-mb", type=float, default=5.0)
    m.add_argument("--redis", default="", help="resume from Redis (e.g. redis://127.0.0.1:6379/0)")
    args = parser.parse_args()
    if args.what == "cpu":
        asyncio.run(cpu(args.events, args.redis))
    else:
        memory(args.streams, args.backlog_mb, args.redis)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
