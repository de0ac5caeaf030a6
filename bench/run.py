#!/usr/bin/env python
"""Kehai against a bare Quart + Hypercorn broadcaster and the peers, same client, same machine.

    python bench/run.py --quick          # 200 and 1,000 streams, under 2 minutes
    python bench/run.py                  # full: 1,000, 5,000 and 10,000 streams
    python bench/run.py --smoke          # 20 streams, 3 messages: only checks that it runs

For each target (`kehai` = `python run.py`, `bare` = `python bench/bare.py`, and the peers in
bench/peers/: `starlette`, `raw` asyncio, `nchan`, `nextjs`) and each stream count it starts
the server pinned to one core (the clients on another), opens N streams with the same
raw-asyncio client as bench/fanout.py, and measures, in two interleaved rounds:

* connect rate: N / time until every stream had its first frame;
* server memory per stream: (RSS with all streams open and settled - RSS before) / N;
* deliveries/s at saturation: M messages published back to back (closed loop), and the
  server's CPU (utime + stime of its processes) per 1,000 of those deliveries;
* p50/p99 fan-out latency at a steady 10 messages/s;

and, for Kehai only (the bare server has no such features):

* typing storm: T members each POST /c/<id>/typing once, spread over ~2 s: frames delivered,
  time until the server is idle again, stream errors (then the same for the 6 s expiry);
* reconnect storm: every stream's TCP connection is closed at once and resumed with its last
  Last-Event-ID after the server's `retry:` delay with htmx's +-30 % jitter, while a few
  messages are posted in the gap: time until all N are back, and missing/duplicate counts.

It prints figure | kehai | bare | kehai/bare, and writes JSON (--json), a PNG of latency
against open streams (--plot, needs matplotlib: pip install -e '.[bench]') and a markdown
table (--md; bench/results/latest.md for the full run). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import fanout  # noqa: E402  (bench/fanout.py: seeding, the client, the Kehai server process)
from fanout import (  # noqa: E402
    CSRF_META,
    SENT_ID,
    Client,
    Profiler,
    ServerProcess,
    StallWatch,
    Stream,
    cpu_seconds,
    free_port,
    machine_busy,
    merge_received,
    percentile,
    process_tree,
    raise_fd_limit,
    rss_bytes,
    scan_log,
)
from peers import setup as peer_setup  # noqa: E402  (bench/peers: the broadcasters compared)
from peers.servers import DESCRIBED, PeerServer, pin  # noqa: E402

ROOT = BENCH.parent
RESULTS = BENCH / "results"
TARGETS = ("kehai", "bare", "nextjs", "starlette", "raw", "nchan", "kehai-2w")
# the broadcasters without Kehai's features: `GET /sse`, `POST /publish`, no cookie (bench/peers)
PEERS = frozenset({"bare", "nextjs", "starlette", "raw", "nchan"})
# "kehai-2w": `run.py --workers 2` with Redis, measured at the plan's largest stream count only
# (connect, memory, saturation, latency; the storms run on one worker)
TWO_WORKERS = "kehai-2w"
RETRY_FIELD = re.compile(rb"(?:^|\n)retry: (\d+)\n")
MSG_EVENT = re.compile(
    rb'(?:^|\n\n)((?:id: [^\n]*\n)?data: <div data-event="new-message".*?\n\n)', re.S
)
HTMX_JITTER = 0.3  # hx-sse's default reconnectJitter
TYPING_EXPIRY_S = 6.0  # every indicator expires 6 s after its POST


class BenchError(Exception):
    """A run could not be measured (the server did not start, died, or timed out)."""


# ---------------------------------------------------------------------------------------------
# plans


@dataclass
class Plan:
    name: str
    streams: list[int]
    sat_deliveries: int  # saturation: about this many deliveries per run (messages = this / N)
    sat_min: int
    sat_max: int
    steady_s: float
    rate: float = 10.0
    typists: int = 1000
    typing_spread_s: float = 2.0
    typing_expiry: bool = True  # also wait for the typists' indicators to expire
    gap_messages: int = 3
    scenarios_at: str = "all"  # all | largest | none
    settle_quiet: float = 2.0
    settle_timeout: float = 300.0
    # then both servers stand idle this long before "memory per stream" is read: a long-running
    # server's size, not the storm's peak (Kehai hands freed heap back within ~5 s: app/heap.py)
    memory_idle_s: float = 7.0
    deliver_timeout: float = 30.0  # no progress for this long: stop waiting
    run_timeout: float = 1800.0  # one (target, streams) run, everything included
    concurrency: int = 4  # POSTs in flight during saturation
    connect_timeout: float = 600.0
    rounds: int = 2  # every target at every count this often, interleaved (min and median)

    def run_limit(self, n: int) -> float:
        """The plan's limits hold for its own stream counts; bigger --streams get more time."""
        return max(self.run_timeout, 0.15 * n)

    def connect_limit(self, n: int) -> float:
        return max(self.connect_timeout, 0.06 * n)

    def sat_messages(self, n: int) -> int:
        return max(self.sat_min, min(self.sat_max, self.sat_deliveries // max(n, 1)))


PLANS = {
    "smoke": Plan(
        "smoke",
        [20],
        60,
        3,
        3,
        steady_s=0.3,
        typists=20,
        typing_spread_s=0.5,
        typing_expiry=False,
        scenarios_at="all",
        settle_quiet=0.6,
        settle_timeout=30,
        memory_idle_s=0,
        deliver_timeout=10,
        run_timeout=90,
        connect_timeout=30,
        rounds=1,
    ),
    "quick": Plan(
        "quick",
        [200, 1000],
        30000,
        10,
        150,
        steady_s=5.0,
        typists=200,
        typing_expiry=False,
        scenarios_at="largest",
        settle_quiet=0.8,
        settle_timeout=60,
        deliver_timeout=10,
        run_timeout=100,
        connect_timeout=60,
    ),
    "full": Plan(
        "full",
        [1000, 5000, 10000],
        100000,
        10,
        150,
        steady_s=20.0,
        typists=1000,
        typing_expiry=True,
        scenarios_at="all",
        settle_quiet=2.0,
    ),
}


# ---------------------------------------------------------------------------------------------
# the client: fanout.Client, plus a bare mode, a deliberate drop and per-stream verification


class HStream(Stream):
    __slots__ = ("back_at", "drop_at", "dropping", "resume_at", "resynced", "retry_ms")

    def __init__(self, idx: int, cookie: str) -> None:
        super().__init__(idx, cookie)
        self.retry_ms: int | None = None
        self.drop_at: float | None = None
        self.resume_at: float | None = None
        self.back_at: float | None = None
        self.dropping = False
        self.resynced = False  # got `resync` since the last drop: the page would reload


class HarnessClient(Client):
    """The fan-out bench's client, with the same HTTP/SSE parsing for both targets."""

    def __init__(
        self,
        pipe: Any,
        host: str,
        port: int,
        cookies: list[tuple[int, str]],
        connect_concurrency: int,
        target: str,
    ) -> None:
        super().__init__(pipe, host, port, cookies, connect_concurrency)
        self.target = target
        self.streams = [HStream(i, c) for i, c in cookies]  # type: ignore[misc]
        self.msg_frame_bytes = 0

    def request(self, s: Stream) -> bytes:
        if self.target not in PEERS:
            return super().request(s)
        lines = [  # the bare broadcaster and the peers: no session, otherwise the same request
            "GET /sse HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept: text/event-stream",
            "Accept-Language: en",
            "Cache-Control: no-cache",
        ]
        if s.last_id is not None:
            lines.append(f"Last-Event-ID: {s.last_id.decode()}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def snapshot(self) -> dict[str, Any]:
        return {**super().snapshot(), "msg_frame_bytes": self.msg_frame_bytes}

    def feed(self, s: Stream, payload: bytes, now: float) -> bool:
        assert isinstance(s, HStream)
        if s.retry_ms is None and b"retry: " in payload:
            m = RETRY_FIELD.search(payload)
            if m:
                s.retry_ms = int(m.group(1))
        if s.drop_at is not None and not s.resynced and b'data-event="resync"' in payload:
            s.resynced = True
            self.stats["resynced"] += 1
        if not self.msg_frame_bytes and b'"new-message"' in payload:
            m = MSG_EVENT.search((s.sse or b"") + payload)
            if m:
                self.msg_frame_bytes = len(m.group(1))
        return super().feed(s, payload, now)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reporter: asyncio.Task[None] | None = None
        while True:
            cmd, arg = await asyncio.to_thread(self.pipe.recv)
            if cmd == "ping":  # the parent waits for this before timing the connect
                self.pipe.send(("pong", {"stats": self.snapshot()}))
            elif cmd == "connect":
                self.tasks = [loop.create_task(self.hold(s)) for s in self.streams]
                reporter = loop.create_task(self.report())
            elif cmd == "collect":  # the phase's receive times, then forget them
                self.pipe.send(("result", self.collected()))
            elif cmd == "drop":  # close every connection at once; resume as htmx would
                self.drop(arg)
            elif cmd == "verify":  # every message exactly once on every stream?
                self.pipe.send(("verified", self.verified(set(arg))))
            elif cmd == "stop":
                await self.stop(reporter)
                return

    def collected(self) -> dict[str, Any]:
        """The receive times since the last collect (then forgotten), connect and back times."""
        recv, self.recv = self.recv, {}
        return {
            "recv": recv,
            "first_at": [s.first_at for s in self.streams if s.first_at is not None],
            "connect": [s.first_at - s.started_at for s in self.streams if s.first_at is not None],
            "back": [
                (s.drop_at, s.resume_at, s.back_at)
                for s in self.streams
                if isinstance(s, HStream) and s.drop_at is not None
            ],
            "stats": self.snapshot(),
        }

    def verified(self, wanted: set[int]) -> dict[str, Any]:
        """Which of the `wanted` messages each stream lacks (resynced streams apart)."""
        missing = short = resynced = missing_resynced = 0
        for s in self.streams:
            lack = len(wanted - s.seen)
            if isinstance(s, HStream) and s.resynced:
                resynced += 1  # told to reload: the page re-fetches what it missed
                missing_resynced += lack
                continue
            missing += lack
            short += lack > 0
        return {
            "missing": missing,
            "streams_missing": short,
            "resynced": resynced,
            "missing_resynced": missing_resynced,
            "duplicates": self.stats["duplicates"],
            "stats": self.snapshot(),
        }

    def drop(self, delay_s: float | None) -> None:
        now = time.monotonic()
        for s in self.streams:  # one not connected now counts as back on its next connection
            assert isinstance(s, HStream)
            base = delay_s if delay_s is not None else (s.retry_ms or 2000) / 1000
            s.drop_at = now
            s.back_at = None
            s.resynced = False
            s.resume_at = now + max(0.0, base * (1 + HTMX_JITTER * (2 * random.random() - 1)))
        live = list(self.live.items())
        for _, s in live:
            s.dropping = True  # type: ignore[attr-defined]
        for transport, _ in live:
            transport.close()
        self.stats["dropped"] += len(live)

    def connected(self, s: Stream, now: float) -> None:
        assert isinstance(s, HStream)
        if s.drop_at is not None and s.back_at is None:
            s.back_at = now
            self.stats["back"] += 1

    def dropping(self, s: Stream) -> bool:
        return isinstance(s, HStream) and s.dropping

    async def resumed_by_harness(self, s: Stream) -> bool:
        """Our own drop: come back when htmx would (its retry delay with jitter)."""
        assert isinstance(s, HStream)
        if not s.dropping:
            return False
        s.dropping = False
        self.stats["resumes"] += 1
        await asyncio.sleep(max(0.0, (s.resume_at or 0) - time.monotonic()))
        return True


def client_main(
    pipe: Any,
    host: str,
    port: int,
    cookies: list[tuple[int, str]],
    connect_concurrency: int,
    fd_limit: int,
    target: str,
    cpus: set[int] | None = None,
) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)  # the clients' core(s), apart from the server's
    fanout.serve_client(
        fd_limit, lambda: HarnessClient(pipe, host, port, cookies, connect_concurrency, target))


# ---------------------------------------------------------------------------------------------
# the servers


def kill_server(server: Any) -> None:
    """Stop a server for sure: SIGTERM, then SIGKILL of the whole process tree."""
    if server is None or server.proc is None:
        return
    with contextlib.suppress(Exception):
        server.stop()
    if server.proc.poll() is None:
        for pid in reversed(process_tree(server.proc.pid)):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            server.proc.wait(5)


def seed_instance(instance: Path, n: int, secret_key: str) -> dict[str, Any]:
    """fanout.seed in a fresh process: the app's database globals stay out of the harness."""
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(fanout.seed, instance, n, secret_key).result(timeout=600)


def no_cookie_jar() -> CookieJar:
    """httpx keeps Set-Cookie answers in its jar; we send each user's cookie ourselves."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def bare_body(i: int, size: int) -> str:
    """A fragment shaped like Kehai's new-message frame (same client regex), of `size` bytes."""
    head = (
        f'<div data-event="new-message" data-message-id="{i}">\n'
        f'<hx-partial hx-target="#messages" hx-swap="upsert">\n'
        f'<article id="message-{i:012d}" class="message" data-message-id="{i}" '
        f'data-author="bench00000">\n'
    )
    tail = "\n</article>\n</hx-partial>\n</div>"
    pad = max(0, size - len(head) - len(tail) - 50)  # about 50 bytes of "id:"/"data: " framing
    return head + ("x" * pad) + tail


@dataclass
class Posted:
    """A burst of typing POSTs: when it began and ended, their latencies and statuses."""

    t0: float = 0.0
    done: float = 0.0
    lat: list[float] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)


@dataclass
class Gap:
    """The reconnect storm's drop: when, and the messages posted while the streams were away."""

    t_drop: float
    sent: dict[int, float] = field(default_factory=dict)
    statuses: Counter[int | str] = field(default_factory=Counter)
    posted_s: float = 0.0


def last_receipt(replies: list[dict[str, Any]], sent: dict[int, float]) -> float:
    """The last time any stream received one of the messages in `sent` (0.0: none did)."""
    last = 0.0
    for rep in replies:
        for mid, times in rep["recv"].items():
            if mid in sent and times:
                last = max(last, max(times))
    return last


def verify_figures(verified: list[dict[str, Any]]) -> dict[str, int]:
    """The client processes' answers to `verify`, summed."""
    return {
        "missing_all": sum(v["missing"] for v in verified),
        "resynced_streams": sum(v["resynced"] for v in verified),
        "missing_on_resynced": sum(v["missing_resynced"] for v in verified),
        "streams_missing": sum(v["streams_missing"] for v in verified),
        "duplicates": sum(v["duplicates"] for v in verified),
    }


# ---------------------------------------------------------------------------------------------
# one (target, streams) run


class Run(fanout.ClientPool):
    def __init__(
        self,
        target: str,
        n: int,
        plan: Plan,
        args: argparse.Namespace,
        bare_bytes: int,
        scenarios: bool,
    ) -> None:
        self.target = target
        self.n = n
        self.plan = plan
        self.args = args
        self.bare_bytes = bare_bytes
        self.scenarios = scenarios and target == "kehai"
        self.r: dict[str, Any] = {"target": target, "streams": n}
        self.server: Any = None
        self.init_clients()
        self.replies: list[dict[str, Any] | None] = []
        self.instance: Path | None = None
        self.seeded: dict[str, Any] | None = None
        self.next_bare_id = 1
        self.sent_ids: list[int] = []  # every message published in this run
        self.profiler: Profiler | None = None
        self.fd_limit = 0

    @property
    def kehai(self) -> bool:
        return self.target not in PEERS

    def rss(self) -> int:
        """The server's resident memory: every process of it (a supervisor and workers)."""
        return rss_bytes(self.server.pid)  # sums the process tree itself

    def log(self, text: str) -> None:
        if not self.args.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {self.target} {self.n:>6,}: {text}", flush=True)

    # -- setup / teardown ------------------------------------------------------------------

    def prepare(self) -> None:
        self.fd_limit = raise_fd_limit(self.n + 4096)
        if self.fd_limit < self.n + 1000:
            raise BenchError(
                f"the open-file limit is {self.fd_limit}, too low for {self.n} "
                f"streams (ulimit -n {self.n + 4096})"
            )
        self.instance = Path(tempfile.mkdtemp(prefix=f"kehai-run-{self.target}-{self.n}-"))
        log = self.instance / "server.log"
        self.r["server_log"] = str(log)
        port = free_port()
        t = time.monotonic()
        if self.kehai:
            secret = secrets.token_urlsafe(48)
            self.seeded = seed_instance(self.instance, self.n, secret)
            self.r["seed_s"] = time.monotonic() - t
            tuning = {"max_streams_per_user": 10, "message_limit": [1_000_000, 1]}
            workers = 2 if self.target == TWO_WORKERS else 1
            self.server = ServerProcess(self.instance, port, workers, tuning, secret, log)
        else:
            self.server = PeerServer(self.target, port, log)
        t = time.monotonic()
        try:
            self.server.start()
        except SystemExit as exc:  # fanout's ServerProcess reports a failed start this way
            raise BenchError(str(exc)) from None
        self.r["server_start_s"] = time.monotonic() - t
        cpus = self.args.server_cpus
        if cpus and self.target != TWO_WORKERS:  # two workers on one core would be no test
            pin(process_tree(self.server.pid), cpus)
            self.r["server_cpus"] = sorted(cpus)
        if self.args.profile:
            self.profiler = Profiler(
                Path(self.args.profile) / f"{self.target}-{self.n}", self.server.pid
            )
        self.log(f"server pid {self.server.pid} on {self.server.url}")

    def teardown(self) -> None:
        if self.profiler is not None:
            self.profiler.stop()
        self.stop_clients(("stop", None), 10)
        kill_server(self.server)
        if self.server is not None:
            self.r["server_log_errors"] = scan_log(self.server.log)
        if self.instance is not None and not self.args.keep and "failure" not in self.r:
            shutil.rmtree(self.instance, ignore_errors=True)

    # -- client processes -------------------------------------------------------------------

    def start_clients(self) -> None:
        k = self.args.client_procs or (2 if self.n >= 5000 else 1)
        cookies = self.seeded["cookies"] if self.seeded else [""] * self.n
        self.spawn_clients(client_main, "bench-client", k, self.n, cookies,
                           self.args.connect_concurrency, "127.0.0.1", self.server.port,
                           (self.fd_limit, self.target, self.args.client_cpus))
        self.replies.extend([None] * k)
        self.r["client_procs"] = k

    def send_all(self, msg: tuple[str, Any]) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError, ValueError):
                pipe.send(msg)

    def on_reply(self, j: int, kind: str, payload: Any) -> None:
        self.replies[j] = payload

    async def ask(self, cmd: str, arg: Any = None, limit_s: float = 60) -> list[dict[str, Any]]:
        """Send a command to every client process and wait for all their answers."""
        self.replies = [None] * len(self.pipes)
        self.send_all((cmd, arg))
        if not await self.wait_for(
            lambda: all(x is not None for x in self.replies), limit_s, every=0.02
        ):
            raise BenchError(f"the client processes did not answer {cmd!r} in {limit_s:.0f} s")
        return [x for x in self.replies if x is not None]

    async def wait_for(
        self, predicate: Any, limit_s: float, every: float = 0.05, progress: Any = None
    ) -> bool:
        deadline = time.monotonic() + limit_s
        last_print = time.monotonic()
        while time.monotonic() < deadline:
            self.pump()
            if predicate():
                return True
            if not self.server.alive():
                raise BenchError(
                    f"the server died (status {self.server.proc.returncode}); see {self.server.log}"
                )
            if any(not p.is_alive() for p in self.procs):
                raise BenchError("a client process died")
            if progress is not None and time.monotonic() - last_print >= 5:
                last_print = time.monotonic()
                self.log(progress())
            await asyncio.sleep(every)
        self.pump()
        return bool(predicate())

    # -- measurement helpers -----------------------------------------------------------------

    def cpu_mark(self) -> tuple[float, float, float, float, float]:
        return (
            time.monotonic(),
            cpu_seconds(process_tree(self.server.pid)),
            cpu_seconds(self.client_pids()),
            cpu_seconds([os.getpid()]),
            machine_busy(),
        )

    def cpu_phase(self, name: str, m0: tuple[float, float, float, float, float]) -> None:
        m1 = self.cpu_mark()
        wall = m1[0] - m0[0]
        server, clients, me = m1[1] - m0[1], m1[2] - m0[2], m1[3] - m0[3]
        other = max(0.0, m1[4] - m0[4] - server - clients - me)
        self.r.setdefault("cpu", {})[name] = {
            "wall_s": wall,
            "server_s": server,
            "clients_s": clients,
            "harness_s": me,
            "other_s": other,
        }

    async def wait_idle(self, quiet: float, limit: float) -> tuple[bool, float]:
        """Until no frames arrive and the server's CPU is under 20 % for `quiet` seconds;
        returns (idle reached, monotonic time the activity ended)."""
        t0 = time.monotonic()
        last_frames = -1
        last_cpu, last_t = cpu_seconds(process_tree(self.server.pid)), t0
        active_until = t0
        while time.monotonic() - t0 < limit:
            await asyncio.sleep(0.1)
            self.pump()
            if not self.server.alive():
                raise BenchError(f"the server died; see {self.server.log}")
            frames = self.total("frames")
            cpu = cpu_seconds(process_tree(self.server.pid))
            now = time.monotonic()
            busy = (cpu - last_cpu) / max(now - last_t, 1e-6)
            last_cpu, last_t = cpu, now
            if frames != last_frames or busy > 0.2:
                active_until = now
                last_frames = frames
            if now - active_until >= quiet:
                return True, active_until
        return False, active_until

    def http(self, concurrency: int = 8) -> Any:
        import httpx

        return httpx.AsyncClient(
            base_url=self.server.url,
            timeout=30,
            cookies=no_cookie_jar(),
            limits=httpx.Limits(
                max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4
            ),
        )

    def sender_headers(self, idx: int = 0) -> dict[str, str]:
        if self.seeded is None:
            return {}
        return {
            "Cookie": f"kehai_session={self.seeded['cookies'][idx]}",
            "X-CSRF-Token": self.seeded["csrf"][idx],
            "HX-Request": "true",
            "Accept-Language": "en",
        }

    async def publish(
        self, http: Any, i: int, statuses: Counter[int | str]
    ) -> tuple[int, float] | None:
        """One message through the target's real publishing route; (message id, sent at)."""
        import httpx

        t0 = time.monotonic()
        try:
            if self.kehai:
                conv = self.seeded["conversation_id"]
                r = await http.post(
                    f"/c/{conv}/messages",
                    headers=self.sender_headers(),
                    data={"body": f"bench message {i} " + "x" * 40, "client_id": f"bench-{i}"},
                )
                statuses[r.status_code] += 1
                found = SENT_ID.search(r.text) if r.status_code == 201 else None
                if not found:
                    if statuses[r.status_code] <= 3:
                        self.log(f"POST message {i} -> {r.status_code}: {r.text[:200]!r}")
                    return None
                mid = int(found.group(1))
            else:
                mid = self.next_bare_id
                self.next_bare_id += 1
                r = await http.post("/publish", content=bare_body(mid, self.bare_bytes).encode())
                statuses[r.status_code] += 1
                if not 200 <= r.status_code < 300:  # 204; nchan: 201 (or 202: no subscriber)
                    return None
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1
            self.log(f"POST {i} failed: {exc!r}")
            return None
        self.sent_ids.append(mid)
        return mid, t0

    async def deliver(self, sent: dict[int, float], deliveries0: int, what: str) -> dict[str, Any]:
        """Wait for N deliveries of every sent message, then collect the receive times."""
        expected = self.n * len(sent)
        await self.wait_for(
            StallWatch(
                lambda: self.total("deliveries") - deliveries0,
                expected,
                self.plan.deliver_timeout,
            ),
            self.plan.run_limit(self.n),
            progress=lambda: (
                f"{what}: {self.total('deliveries') - deliveries0:,}/{expected:,} delivered"
            ),
        )
        replies = await self.ask("collect")
        return {**self.latency_figures(sent, replies), "replies": replies}

    def latency_figures(
        self, sent: dict[int, float], replies: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Deliveries, missing ones, deliveries/s and latency of the messages in `sent`."""
        per_msg = merge_received(replies)
        lat: list[float] = []
        last = 0.0
        missing = 0
        for mid, t0 in sent.items():
            times = per_msg.get(mid, [])
            missing += self.n - len(times)
            lat.extend(t - t0 for t in times)
            if times:
                last = max(last, max(times))
        lat.sort()
        first = min(sent.values()) if sent else 0.0
        span = last - first if last else float("nan")
        return {
            "sent": len(sent),
            "expected": self.n * len(sent),
            "deliveries": len(lat),
            "missing": missing,
            "span_s": span,
            "deliveries_per_s": len(lat) / span if span and span == span else float("nan"),
            "p50_s": percentile(lat, 0.5),
            "p99_s": percentile(lat, 0.99),
            "max_s": lat[-1] if lat else float("nan"),
        }

    # -- phases -----------------------------------------------------------------------------

    async def measure(self) -> None:
        """Connect, settle, the scenarios over one HTTP client, the end-of-run figures."""
        if self.kehai:
            await self.check_cookie()
        await asyncio.sleep(0.5)
        rss0 = self.rss()
        self.r["rss_before"] = rss0
        opened = await self.connect(rss0)
        await self.settle(rss0, opened)
        async with self.http(max(self.plan.concurrency, 32)) as http:
            await self.saturation(http)
            await self.steady(http)
            if self.scenarios:
                await self.typing_storm()
                await self.reconnect_storm(http)
        await self.wrap_up()

    async def connect(self, rss0: int) -> int:
        """Open every stream: connect rate, memory with all open; returns how many opened."""
        plan, n = self.plan, self.n
        self.start_clients()
        await self.ask("ping", limit_s=60)  # client processes started and listening
        m0 = self.cpu_mark()
        if self.profiler:
            self.profiler.start("connect")
        t_connect = time.monotonic()
        self.send_all(("connect", None))
        ok = await self.wait_for(
            lambda: self.total("opened") >= n,
            plan.connect_limit(n),
            progress=lambda: (
                f"connecting: {self.total('opened'):,}/{n:,} open, errors {self.errors()}"
            ),
        )
        opened = self.total("opened")
        rss_open = self.rss()
        replies = await self.ask("collect")
        figures = self.connect_figures(replies, t_connect, opened, rss0, rss_open)
        self.cpu_phase("connect", m0)
        self.r.update(figures)
        if not ok:
            raise BenchError(
                f"only {opened}/{n} streams opened in {plan.connect_limit(n):.0f} s"
                f" (errors {self.errors()})"
            )
        self.log(
            f"{opened:,} open in {figures['connect_s']:.2f} s "
            f"({self.r['connect_rate']:,.0f}/s), "
            f"RSS {rss0 / 2**20:.1f} -> {rss_open / 2**20:.1f} MiB"
        )
        return opened

    def connect_figures(
        self,
        replies: list[dict[str, Any]],
        t_connect: float,
        opened: int,
        rss0: int,
        rss_open: int,
    ) -> dict[str, Any]:
        """Connect time and rate (to the last stream's first frame), per-stream p50/p99."""
        firsts = [t for rep in replies for t in rep["first_at"]]
        per_stream = sorted(x for rep in replies for x in rep["connect"])
        connect_s = (max(firsts) - t_connect) if firsts else float("nan")
        return {
            "opened": opened,
            "connect_s": connect_s,
            "connect_rate": opened / connect_s if connect_s and connect_s == connect_s else 0,
            "connect_p50_s": percentile(per_stream, 0.5),
            "connect_p99_s": percentile(per_stream, 0.99),
            "connect_errors": self.errors(),
            "rss_open": rss_open,
            "mem_per_stream_open": (rss_open - rss0) / max(opened, 1),
        }

    async def settle(self, rss0: int, opened: int) -> None:
        """Kehai announces N people coming online (the bare server has nothing to do); then
        memory per stream, settled and after standing idle."""
        plan = self.plan
        m0 = self.cpu_mark()
        if self.profiler:
            self.profiler.start("settle")
        t = time.monotonic()
        settled, until = await self.wait_idle(plan.settle_quiet, plan.settle_timeout)
        rss_settled = self.rss()
        self.cpu_phase("settle", m0)
        await asyncio.sleep(plan.memory_idle_s)
        rss_idle = self.rss()
        self.r.update(
            {
                "settled": settled,
                "settle_s": until - t,
                "frames_after_connect": self.total("frames"),
                "rss_settled": rss_settled,
                "mem_per_stream_settled": (rss_settled - rss0) / max(opened, 1),
                "rss_idle": rss_idle,
                "mem_per_stream": (rss_idle - rss0) / max(opened, 1),
            }
        )
        self.log(
            f"settled={settled} in {until - t:.1f} s, {self.total('frames'):,} frames so "
            f"far, {self.r['mem_per_stream_settled'] / 1024:.1f} KiB/stream, after "
            f"{plan.memory_idle_s:.0f} s idle {self.r['mem_per_stream'] / 1024:.1f} KiB/stream"
        )

    async def wrap_up(self) -> None:
        """The server's /metrics (Kehai), the clients' error and reconnect totals, final RSS."""
        if self.kehai:
            with contextlib.suppress(Exception):
                async with self.http() as http:
                    text = (await http.get("/metrics")).text
                self.r["server_metrics"] = fanout.parse_metrics(text)
        self.pump()
        self.r["client_errors"] = self.errors()
        self.r["reconnects"] = self.total("reconnects")
        self.r["ended_by_server"] = self.total("ended_by_server")
        self.r["rss_end"] = self.rss()

    async def check_cookie(self) -> None:
        async with self.http() as http:
            r = await http.get("/", headers={"Cookie": self.sender_headers()["Cookie"]})
        meta = CSRF_META.search(r.text)
        if r.status_code != 200 or not meta or meta.group(1) != self.seeded["csrf"][0]:
            raise BenchError(f"the minted session cookie was refused (GET / -> {r.status_code})")

    async def saturation(self, http: Any) -> None:
        m = self.plan.sat_messages(self.n)
        deliveries0 = self.total("deliveries")
        statuses: Counter[int | str] = Counter()
        sent: dict[int, float] = {}
        m0 = self.cpu_mark()
        if self.profiler:
            self.profiler.start("saturation")
        counter = iter(range(m))

        async def sender() -> None:
            for i in counter:
                got = await self.publish(http, i, statuses)
                if got:
                    sent[got[0]] = got[1]

        await asyncio.wait_for(
            asyncio.gather(*(sender() for _ in range(self.plan.concurrency))),
            self.plan.run_limit(self.n),
        )
        res = await self.deliver(sent, deliveries0, "saturation")
        self.cpu_phase("saturation", m0)
        self.r["saturation"] = {k: v for k, v in res.items() if k != "replies"}
        server_s = self.r["cpu"]["saturation"]["server_s"]  # /proc/<pid>/stat utime + stime
        self.r["saturation"]["server_ms_per_1000"] = (
            server_s * 1e6 / res["deliveries"] if res["deliveries"] else float("nan")
        )
        self.r["saturation"].update(
            {"messages": m, "statuses": dict(statuses), "concurrency": self.plan.concurrency}
        )
        self.r["msg_frame_bytes"] = max(
            int(rep["stats"].get("msg_frame_bytes", 0)) for rep in res["replies"]
        )
        self.log(
            f"saturation: {res['deliveries']:,}/{res['expected']:,} deliveries, "
            f"{res['deliveries_per_s']:,.0f}/s"
        )

    async def steady(self, http: Any) -> None:
        plan = self.plan
        count = max(1, round(plan.steady_s * plan.rate))
        deliveries0 = self.total("deliveries")
        statuses: Counter[int | str] = Counter()
        sent: dict[int, float] = {}
        await asyncio.sleep(0.3)
        m0 = self.cpu_mark()
        if self.profiler:
            self.profiler.start("steady")

        async def one(i: int) -> None:
            got = await self.publish(http, i, statuses)
            if got:
                sent[got[0]] = got[1]

        t0 = time.monotonic()
        tasks = []
        for i in range(count):
            delay = t0 + i / plan.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.pump()
            tasks.append(asyncio.create_task(one(10_000 + i)))
        await asyncio.wait_for(asyncio.gather(*tasks), plan.run_limit(self.n))
        res = await self.deliver(sent, deliveries0, "steady")
        self.cpu_phase("steady", m0)
        self.r["steady"] = {k: v for k, v in res.items() if k != "replies"}
        self.r["steady"].update(
            {"rate": plan.rate, "seconds": plan.steady_s, "statuses": dict(statuses)}
        )
        self.log(
            f"steady {plan.rate:g}/s: p50 {res['p50_s'] * 1000:.1f} ms, "
            f"p99 {res['p99_s'] * 1000:.1f} ms, missing {res['missing']}"
        )

    async def typing_storm(self) -> None:
        """T members each start typing once, spread over ~2 s, into the big conversation."""
        plan = self.plan
        typists = min(plan.typists, self.n)
        frames0, trouble0 = self.total("frames"), self.stream_trouble()
        await asyncio.sleep(0.3)
        m0 = self.cpu_mark()
        if self.profiler:
            self.profiler.start("typing")
        # the typists are the last T members, so the message sender (member 0) reads them
        posts = await self.post_typing(list(range(self.n - typists, self.n)))
        idle, until = await self.wait_idle(min(plan.settle_quiet, 1.0), 120)
        frames = self.total("frames") - frames0
        res = self.typing_figures(typists, posts, frames, idle, until)
        self.cpu_phase("typing", m0)
        res["expiry_within_storm"] = until - posts.t0 > TYPING_EXPIRY_S
        if plan.typing_expiry and not res["expiry_within_storm"]:
            res.update(await self.typing_expiry(posts, frames0 + frames))
        self.pump()
        res.update({k: v - trouble0[k] for k, v in self.stream_trouble().items()})
        self.r["typing"] = res
        self.log(
            f"typing storm: {typists} typists -> {frames:,} frames, idle after "
            f"{res['idle_after_s']:.2f} s, stream errors {res['stream_errors']}, "
            f"POSTs {dict(posts.statuses)}"
        )

    def stream_trouble(self) -> dict[str, int]:
        """Stream errors, reconnects and streams ended by the server, so far."""
        return {
            "stream_errors": sum(self.errors().values()),
            "reconnects": self.total("reconnects"),
            "ended_by_server": self.total("ended_by_server"),
        }

    async def post_typing(self, who: list[int]) -> Posted:
        """Each member in `who` POSTs /typing once, spread evenly over typing_spread_s."""
        plan = self.plan
        posts = Posted()
        # At most 32 in flight: httpx's pool slows down badly with hundreds of queued requests
        # (the harness then eats the CPU the server needs); 32 keep the server saturated.
        gate = asyncio.Semaphore(32)
        async with self.http(32) as http:
            posts.t0 = time.monotonic()
            tasks = []
            for k, idx in enumerate(who):
                delay = posts.t0 + k * plan.typing_spread_s / len(who) - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.type_once(http, gate, idx, posts)))
            await asyncio.wait_for(asyncio.gather(*tasks), plan.run_limit(self.n))
            posts.done = time.monotonic()
        return posts

    async def type_once(self, http: Any, gate: asyncio.Semaphore, idx: int, posts: Posted) -> None:
        """Member `idx` starts typing in the big conversation, once `gate` lets it."""
        import httpx

        conv = self.seeded["conversation_id"]
        async with gate:
            t = time.monotonic()
            try:
                r = await http.post(
                    f"/c/{conv}/typing",
                    headers=self.sender_headers(idx),
                    data={"body": "x"},
                )
                posts.statuses[r.status_code] += 1
                posts.lat.append(time.monotonic() - t)
            except httpx.HTTPError as exc:
                posts.statuses[type(exc).__name__] += 1

    def typing_figures(
        self, typists: int, posts: Posted, frames: int, idle: bool, until: float
    ) -> dict[str, Any]:
        """Frames the storm caused, time until the server was idle, POST rate and latency."""
        t0, posted = posts.t0, posts.done
        return {
            "typists": typists,
            "statuses": dict(posts.statuses),
            "spread_s": self.plan.typing_spread_s,
            "post_s": posted - t0,
            "frames": frames,
            "idle": idle,
            "idle_after_s": until - t0,
            "frames_per_stream": frames / self.n,
            "post_rate": typists / max(posted - t0, 1e-9),
            "post_p50_s": percentile(sorted(posts.lat), 0.5),
            "post_p99_s": percentile(sorted(posts.lat), 0.99),
        }

    async def typing_expiry(self, posts: Posted, frames_before: int) -> dict[str, Any]:
        """The frames and idle time of every typing indicator expiring."""
        m0 = self.cpu_mark()
        # Until the last typist's indicator has expired (it counts from that POST): the
        # room reads "several" until then, so the server may rightly be idle before it.
        await asyncio.sleep(max(0.0, posts.done + TYPING_EXPIRY_S - time.monotonic()))
        idle2, until2 = await self.wait_idle(min(self.plan.settle_quiet, 1.0), 120)
        res = {
            "expiry_frames": self.total("frames") - frames_before,
            "expiry_idle_after_s": until2 - posts.t0,
            "expiry_idle": idle2,
        }
        self.cpu_phase("typing_expiry", m0)
        return res

    async def reconnect_storm(self, http: Any) -> None:
        """Every connection closed at once; all resume with Last-Event-ID as htmx would,
        while a few messages are posted in the gap."""
        _, _ = await self.wait_idle(0.5, 30)
        before = {k: self.total(k) for k in ("deliveries", "back", "resynced", "resyncs")}
        m0 = self.cpu_mark()
        if self.profiler:
            self.profiler.start("reconnect")
        gap = await self.drop_and_post(http)
        ok = await self.wait_back(gap, before)
        await asyncio.sleep(0.3)  # late duplicates would show up now
        replies = await self.ask("collect")
        verified = await self.ask("verify", self.sent_ids, limit_s=120)
        self.cpu_phase("reconnect", m0)
        rc = self.r["reconnect"] = self.reconnect_figures(ok, gap, before, replies, verified)
        self.log(
            f"reconnect storm: {rc['back']:,}/{self.n:,} back after {rc['all_back_s']:.2f} s "
            f"(client waits up to {rc['client_delay_last_s']:.2f} s), complete after "
            f"{rc['all_back_complete_s']:.2f} s; missing {rc['missing_all']}, "
            f"dup {rc['duplicates']}"
        )

    async def drop_and_post(self, http: Any) -> Gap:
        """Close every stream at once, then post the plan's gap messages while they are away."""
        gap = Gap(time.monotonic())
        self.send_all(("drop", self.args.reconnect_delay))
        await asyncio.sleep(0.05)  # let the clients close first: these go into the gap
        for i in range(self.plan.gap_messages):
            got = await self.publish(http, 20_000 + i, gap.statuses)
            if got:
                gap.sent[got[0]] = got[1]
        gap.posted_s = time.monotonic() - gap.t_drop
        return gap

    async def wait_back(self, gap: Gap, before: dict[str, int]) -> bool:
        """Until every stream is back and has the gap messages (or was told to resync)."""
        n, sent = self.n, gap.sent
        expected = n * len(sent)
        return await self.wait_for(
            lambda: (  # a stream told to resync gets no replay: its page reloads instead
                self.total("back") - before["back"] >= n
                and self.total("deliveries")
                - before["deliveries"]
                + (self.total("resynced") - before["resynced"]) * len(sent)
                >= expected
            ),
            max(60.0, n / 50),
            progress=lambda: (
                f"reconnecting: {self.total('back') - before['back']:,}/{n:,} back, "
                f"{self.total('deliveries') - before['deliveries']:,}/{expected:,} "
                "gap deliveries"
            ),
        )

    def reconnect_figures(
        self,
        ok: bool,
        gap: Gap,
        before: dict[str, int],
        replies: list[dict[str, Any]],
        verified: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Time until all were back, the server's share of it, and what went missing."""
        n, t_drop = self.n, gap.t_drop
        backs = [b for rep in replies for b in rep["back"]]
        back_at = [b for _, _, b in backs if b is not None]
        server_share = sorted(b - r for _, r, b in backs if b is not None and r is not None)
        resume_last = max((r for _, r, _ in backs if r is not None), default=t_drop)
        gap_last = last_receipt(replies, gap.sent)
        done = max(max(back_at, default=t_drop), gap_last) - t_drop if ok else float("nan")
        return {
            "ok": ok,
            "streams": n,
            "back": len(back_at),
            "gap_messages": len(gap.sent),
            "gap_posted_s": gap.posted_s,
            "client_delay_last_s": resume_last - t_drop,
            "all_back_s": (max(back_at) - t_drop) if len(back_at) >= n else float("nan"),
            "all_back_complete_s": done,
            "server_p50_s": percentile(server_share, 0.5),
            "server_p99_s": percentile(server_share, 0.99),
            "server_max_s": server_share[-1] if server_share else float("nan"),
            "missing_gap": n * len(gap.sent) - (self.total("deliveries") - before["deliveries"]),
            **verify_figures(verified),
            "messages_checked": len(self.sent_ids),
            "resyncs": self.total("resyncs") - before["resyncs"],
            "statuses": dict(gap.statuses),
        }


def run_one(
    target: str, n: int, plan: Plan, args: argparse.Namespace, bare_bytes: int, scenarios: bool
) -> dict[str, Any]:
    run = Run(target, n, plan, args, bare_bytes, scenarios)
    t0 = time.monotonic()
    load0 = Path("/proc/loadavg").read_text().split()[:3]
    try:
        run.prepare()
        m0 = run.cpu_mark()
        try:
            asyncio.run(asyncio.wait_for(run.measure(), plan.run_limit(n)))
        finally:
            with contextlib.suppress(Exception):
                run.cpu_phase("total", m0)
    except BenchError as exc:
        run.r["failure"] = str(exc)
    except TimeoutError:
        run.r["failure"] = f"timed out after {plan.run_limit(n):.0f} s"
    except Exception as exc:  # report and go on with the other runs
        run.r["failure"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    finally:
        run.teardown()
    run.r["wall_s"] = time.monotonic() - t0
    run.r["loadavg"] = [load0, Path("/proc/loadavg").read_text().split()[:3]]
    if "failure" in run.r:
        print(f"FAILED {target} at {n:,} streams: {run.r['failure']}", flush=True)
        errs = run.r.get("server_log_errors", {}).get("first_errors")
        if errs:
            print("  server log: " + "\n  ".join(errs), flush=True)
    return run.r


# ---------------------------------------------------------------------------------------------
# reporting


def _get(r: dict[str, Any] | None, path: str) -> float | None:
    cur: Any = r
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    if isinstance(cur, (int, float)) and not (isinstance(cur, float) and math.isnan(cur)):
        return float(cur)
    return None


# (label, path in a run's figures, unit, scale, better)
FIGURES = [
    ("connect rate", "connect_rate", "streams per s", 1, "higher"),
    ("server memory per stream, right after connecting", "mem_per_stream_settled", "KiB",
     1 / 1024, "lower"),
    ("server memory per stream", "mem_per_stream", "KiB", 1 / 1024, "lower"),
    ("deliveries at saturation", "saturation.deliveries_per_s", "per s", 1, "higher"),
    ("server CPU per 1,000 deliveries at saturation", "saturation.server_ms_per_1000", "ms",
     1, "lower"),
    ("fan-out latency p50 at 10 msg/s", "steady.p50_s", "ms", 1000, "lower"),
    ("fan-out latency p99 at 10 msg/s", "steady.p99_s", "ms", 1000, "lower"),
]
TWO_WORKER_FIGURES = [f for f in FIGURES if f[1] != "mem_per_stream_settled"]
PEER_FIGURES = [f for f in FIGURES if f[1] != "mem_per_stream_settled"]
WORST_OF_ROUNDS = {"reconnect.missing_all", "reconnect.duplicates"}  # the rest: median
KEHAI_ONLY = [
    ("typing storm: typists", "typing.typists", "", 1),
    ("typing storm: frames delivered", "typing.frames", "", 1),
    ("typing storm: frames per stream", "typing.frames_per_stream", "", 1),
    ("typing storm: POSTs answered per s", "typing.post_rate", "", 1),
    ("typing storm: POST p99", "typing.post_p99_s", "ms", 1000),
    ("typing storm: idle after (from first POST)", "typing.idle_after_s", "s", 1),
    ("typing storm: stream errors", "typing.stream_errors", "", 1),
    ("typing expiry: frames delivered", "typing.expiry_frames", "", 1),
    ("typing expiry: idle after", "typing.expiry_idle_after_s", "s", 1),
    ("reconnect storm: all back after", "reconnect.all_back_s", "s", 1),
    ("reconnect storm: back + gap complete", "reconnect.all_back_complete_s", "s", 1),
    ("reconnect storm: client's own delay (last)", "reconnect.client_delay_last_s", "s", 1),
    ("reconnect storm: reconnect->back p99", "reconnect.server_p99_s", "ms", 1000),
    ("reconnect storm: streams back", "reconnect.back", "", 1),
    ("reconnect storm: streams told to resync", "reconnect.resynced_streams", "", 1),
    ("reconnect storm: missing / duplicates", "reconnect.missing_all", "", 1),
]


def fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.0f}"
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def rounds_of(runs: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """The measured runs of each (target, streams), every round (failed runs left out)."""
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in runs:
        if "failure" not in r:
            out.setdefault((r["target"], r["streams"]), []).append(r)
    return out


def over_rounds(rs: list[dict[str, Any]], path: str) -> tuple[float | None, float | None]:
    """(median, min) of one figure over the rounds that have it."""
    vals = sorted(v for v in (_get(r, path) for r in rs) if v is not None)
    if not vals:
        return None, None
    if path in WORST_OF_ROUNDS:
        return vals[-1], vals[0]
    return statistics.median(vals), vals[0]


def median_run(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """A run whose every reported figure is the median over the rounds."""
    out: dict[str, Any] = {}
    paths = [f[1] for f in FIGURES] + [f[1] for f in KEHAI_ONLY] + ["reconnect.duplicates"]
    for path in paths:
        med = over_rounds(rs, path)[0]
        if med is None:
            continue
        cur = out
        *parents, leaf = path.split(".")
        for part in parents:
            cur = cur.setdefault(part, {})
        cur[leaf] = med
    return out


def table_rows(runs: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    by = {key: median_run(rs) for key, rs in rounds_of(runs).items()}
    counts = sorted({r["streams"] for r in runs})
    rows: list[tuple[str, str, str, str]] = []
    for n in counts:
        k, b = by.get(("kehai", n)), by.get(("bare", n))
        for label, path, unit, scale, better in FIGURES:
            kv, bv = _get(k, path), _get(b, path)
            kv = kv * scale if kv is not None else None
            bv = bv * scale if bv is not None else None
            ratio = f"{kv / bv:,.2f}" if kv is not None and bv else "n/a"
            rows.append((f"{label}, {unit} ({better} is better) @ {n:,}", fmt(kv), fmt(bv), ratio))
    for n in counts:
        k, k2 = by.get(("kehai", n)), by.get((TWO_WORKERS, n))
        if not k2:
            continue
        for label, path, unit, scale, better in TWO_WORKER_FIGURES:
            one, two = _get(k, path), _get(k2, path)
            one = one * scale if one is not None else None
            two = two * scale if two is not None else None
            ratio = f"{two / one:,.2f} x 1 worker" if two is not None and one else "n/a"
            rows.append((f"two workers + Redis: {label}, {unit} ({better} is better) @ {n:,}",
                         fmt(two), "-", ratio))
    for n in counts:
        k = by.get(("kehai", n))
        if not k or ("typing" not in k and "reconnect" not in k):
            continue
        for label, path, unit, scale in KEHAI_ONLY:
            v = _get(k, path)
            if v is None:
                continue
            text = fmt(v * scale)
            if path == "reconnect.missing_all":
                text = f"{int(v)} / {int(_get(k, 'reconnect.duplicates') or 0)}"
            rows.append((f"{label}{', ' + unit if unit else ''} @ {n:,}", text, "-", "-"))
    return rows


def peer_targets(runs: list[dict[str, Any]]) -> list[str]:
    present = {r["target"] for r in runs}
    return [t for t in TARGETS if t in present and t != TWO_WORKERS]


def peer_rows(runs: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """figure @ N | median (min) per target: Kehai beside bare Quart and the peers."""
    groups = rounds_of(runs)
    targets = peer_targets(runs)
    rows: list[tuple[str, ...]] = []
    for n in sorted({r["streams"] for r in runs}):
        for label, path, unit, scale, better in PEER_FIGURES:
            cells = []
            for t in targets:
                med, low = over_rounds(groups.get((t, n), []), path)
                rounds = len(groups.get((t, n), []))
                if med is None or low is None:
                    cells.append("n/a")
                elif rounds > 1:
                    cells.append(f"{fmt(med * scale)} ({fmt(low * scale)})")
                else:
                    cells.append(fmt(med * scale))
            rows.append((f"{label}, {unit} ({better} is better) @ {n:,}", *cells))
        loads = []
        for t in targets:
            vals = [float(r["loadavg"][0][0]) for r in groups.get((t, n), []) if "loadavg" in r]
            loads.append(" / ".join(f"{v:.2f}" for v in vals) or "n/a")
        rows.append((f"load average (1 min) at the start of each round @ {n:,}", *loads))
    return rows


def peer_head(runs: list[dict[str, Any]]) -> tuple[str, ...]:
    return ("figure: median (min) of the rounds", *peer_targets(runs))


def text_table(rows: list[tuple[str, ...]], head: tuple[str, ...] = ("figure", "kehai", "bare",
                                                                       "kehai/bare")) -> str:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = "  ".join("-" * w for w in widths)
    out = [line, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), line]
    for r in rows:
        out.append(
            "  ".join(
                [
                    r[0].ljust(widths[0]),
                    *(c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)),
                ]
            )
        )
    out.append(line)
    return "\n".join(out)


def noise_lines(runs: list[dict[str, Any]]) -> list[str]:
    ncpu = os.cpu_count() or 1
    out = []
    for r in runs:
        t = r.get("cpu", {}).get("total")
        if not t or not t["wall_s"]:
            continue
        cap = t["wall_s"] * ncpu
        out.append(
            f"{r['target']:>9} {r['streams']:>6,} r{r.get('round', 0) + 1}: "
            f"wall {t['wall_s']:5.1f} s; CPU server "
            f"{t['server_s']:5.1f} s, clients {t['clients_s']:5.1f} s, harness "
            f"{t['harness_s']:4.1f} s, other processes {t['other_s']:5.1f} s "
            f"({t['other_s'] / cap:.0%} of the machine)"
        )
    return out


def markdown(
    rows: list[tuple[str, str, str, str]], runs: list[dict[str, Any]], meta: dict[str, Any]
) -> str:
    out = [
        f"# Kehai vs bare Quart + Hypercorn and the peers — {meta['plan']} run",
        "",
        f"- when: {meta['when']}; commit {meta['commit']}",
        f"- machine: {meta['cpus']} CPUs ({meta['cpu_model']}), Python {meta['python']}, "
        f"load average at start {' '.join(meta['loadavg_start'])}",
        f"- command: `{meta['command']}`",
        f"- latency: steady {meta['rate']:g} messages/s for {meta['steady_s']:g} s; "
        f"saturation: messages back to back, {meta['concurrency']} in flight; "
        f"bare frame body {meta['bare_bytes']} bytes (Kehai's new-message frame)",
        f"- rounds: {meta.get('rounds', 1)}, interleaved (every target once, then again); "
        f"server pinned to CPU {meta.get('server_cpus') or 'none'}, clients and harness to "
        f"{meta.get('client_cpus') or 'none'} (kehai-2w unpinned)",
        "",
    ]
    prows = peer_rows(runs)
    if set(peer_targets(runs)) - {"kehai", "bare"}:
        head = peer_head(runs)
        out += [
            "## Kehai beside bare Quart and the peers (median of the rounds, min in brackets)",
            "",
            "| " + " | ".join(head) + " |",
            "|---|" + "---:|" * (len(head) - 1),
            *("| " + " | ".join(r) + " |" for r in prows),
            "",
            *(f"- {t}: {DESCRIBED[t]}" for t in peer_targets(runs) if t in DESCRIBED),
            "",
            "## Kehai against bare Quart (medians)",
            "",
        ]
    out += [
        "| figure | kehai | bare | kehai/bare |",
        "|---|---:|---:|---:|",
    ]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out += [
        "",
        "CPU during each run (other processes on the machine make the figures noisy):",
        "",
        "```",
        *noise_lines(runs),
        "```",
        "",
    ]
    failed = [r for r in runs if "failure" in r]
    if failed:
        out += ["Failed runs:", ""]
        out += [
            f"- {r['target']} at {r['streams']:,}: {r['failure'].splitlines()[0]}" for r in failed
        ]
        out.append("")
    return "\n".join(out)


def plot(runs: list[dict[str, Any]], path: Path, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is not installed (pip install -e '.[bench]')", flush=True)
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    styles = {"kehai": "tab:red", "bare": "tab:blue", TWO_WORKERS: "tab:orange",
              "nextjs": "tab:gray", "starlette": "tab:green", "raw": "tab:purple",
              "nchan": "tab:brown"}
    for target in TARGETS:
        plot_target(ax, runs, target, styles[target])
    ax.set_xlabel("open streams (= conversation members)")
    ax.set_ylabel("fan-out latency, ms")
    ax.set_yscale("log")
    counts = sorted({r["streams"] for r in runs})
    if counts and counts[-1] >= 4 * counts[0]:
        ax.set_xscale("log")
        ax.set_xticks(counts, [f"{c:,}" for c in counts])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True


def plot_target(ax: Any, runs: list[dict[str, Any]], target: str, color: str) -> None:
    """One target's steady p50 and p99 latency against open streams."""
    pts = sorted(
        (n, over_rounds(rs, "steady.p50_s")[0], over_rounds(rs, "steady.p99_s")[0])
        for (t, n), rs in rounds_of(runs).items()
        if t == target
    )
    pts = [p for p in pts if p[1] is not None]
    if not pts:
        return
    xs = [p[0] for p in pts]
    ax.plot(xs, [p[1] * 1000 for p in pts], "o-", color=color, label=f"{target} p50")
    ax.plot(
        xs,
        [p[2] * 1000 for p in pts if p[2] is not None],
        "s--",
        color=color,
        label=f"{target} p99",
    )


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            timeout=10,
        ).stdout
        return head + (" (with uncommitted changes)" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


# ---------------------------------------------------------------------------------------------
# command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add_plan_options(p)
    add_output_options(p)
    add_harness_options(p)
    args = p.parse_args(argv)
    args.plan_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    args.server_cpus, args.client_cpus = parse_pin(args.pin)
    return args


def parse_pin(spec: str) -> tuple[set[int] | None, set[int] | None]:
    """--pin: the server's CPUs and the clients' (and harness's), or none."""
    if spec == "none":
        return None, None
    if spec == "auto":
        cpus = sorted(os.sched_getaffinity(0))
        return ({cpus[0]}, set(cpus[1:])) if len(cpus) >= 2 else (None, None)
    server, _, client = spec.partition(":")
    return ({int(x) for x in server.split(",")}, {int(x) for x in client.split(",")})


def add_plan_options(p: argparse.ArgumentParser) -> None:
    """What is measured: the plan, the stream counts, the targets and the scenarios."""
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="200 and 1,000 streams (< 2 min)")
    mode.add_argument("--smoke", action="store_true", help="20 streams, 3 messages: runs at all")
    p.add_argument("--streams", help="comma-separated stream counts (overrides the plan)")
    p.add_argument("--targets",
                   help="comma-separated, of " + ", ".join(TARGETS) + " (kehai-2w: two workers "
                        "with Redis, at the largest stream count); default all (--smoke: kehai,"
                        "bare,kehai-2w)")
    p.add_argument("--rounds", type=int, help="rounds, interleaved (default 2; --smoke 1)")
    p.add_argument("--steady-s", type=float, help="seconds at the steady rate")
    p.add_argument("--rate", type=float, help="steady messages/s (default 10)")
    p.add_argument("--typists", type=int, help="typing storm size")
    p.add_argument(
        "--scenarios-at",
        choices=("all", "largest", "none"),
        help="stream counts that get Kehai's typing and reconnect storms",
    )
    p.add_argument(
        "--reconnect-delay",
        type=float,
        default=None,
        help="seconds before a dropped stream resumes (+-30%% jitter); default: the "
        "server's retry: field, as htmx does",
    )


def add_output_options(p: argparse.ArgumentParser) -> None:
    """Where the figures go: JSON, the plot, the markdown table."""
    p.add_argument("--json", help="write every figure to this file")
    p.add_argument(
        "--plot",
        help="PNG of latency against open streams "
        "(default bench/results/latency[-quick].png; not in --smoke)",
    )
    p.add_argument(
        "--md",
        help="markdown table (default bench/results/latest.md for the full "
        "run, bench/results/quick.md for --quick; not in --smoke)",
    )
    p.add_argument("--no-files", action="store_true", help="write no default plot/markdown")
    p.add_argument(
        "--from-json",
        help="measure nothing: print and write the table, markdown and plot of a --json file",
    )


def add_harness_options(p: argparse.ArgumentParser) -> None:
    """How the harness runs: client processes, profiling, what it keeps and prints."""
    p.add_argument(
        "--client-procs",
        type=int,
        default=0,
        help="client processes (0 = 1, or 2 from 5,000 streams)",
    )
    p.add_argument(
        "--connect-concurrency",
        type=int,
        default=64,
        help="streams being opened at once (Hypercorn's backlog is 100)",
    )
    p.add_argument("--profile", help="py-spy each server, one raw file per phase, in this dir")
    p.add_argument("--pin", default="auto",
                   help="SERVER_CPUS:CLIENT_CPUS (e.g. 0:1) for taskset-style pinning of the "
                        "server and of the clients and harness; auto = 0:1..N on 2+ cores; none")
    p.add_argument("--no-setup", action="store_true",
                   help="do not npm install/build the Next.js peer or apt-get nchan: such a "
                        "target not set up fails")
    p.add_argument("--keep", action="store_true", help="keep the instance dirs and server logs")
    p.add_argument("--quiet", action="store_true", help="only the table")


def measure_all(
    plan: Plan, targets: list[str], args: argparse.Namespace, argv: list[str] | None
) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
    raise_fd_limit(max(plan.streams) + 4096)
    started = time.monotonic()
    meta = run_meta(plan, argv)
    runs: list[dict[str, Any]] = []
    bare_bytes = 1024
    interrupted = False
    unready = {t: why for t in targets if (why := peer_setup.ready(t, not args.no_setup))}
    try:
        for n in plan.streams:
            # Kehai's storms run in the first round only: they are not compared with anyone
            scen = plan.scenarios_at == "all" or (
                plan.scenarios_at == "largest" and n == max(plan.streams)
            )
            for rnd in range(plan.rounds):
                for target in targets:
                    if target == TWO_WORKERS and n != max(plan.streams):
                        continue
                    print(f"== {target} with {n:,} streams, round {rnd + 1} ==", flush=True)
                    if target in unready:
                        print(f"FAILED {target}: {unready[target]}", flush=True)
                        runs.append({"target": target, "streams": n, "round": rnd,
                                     "failure": unready[target]})
                        continue
                    r = run_one(target, n, plan, args, bare_bytes, scen and rnd == 0)
                    r["round"] = rnd
                    if target == "kehai" and r.get("msg_frame_bytes"):
                        bare_bytes = int(r["msg_frame_bytes"])  # the peers' body = Kehai's frame
                    if target in PEERS:
                        r["bare_body_bytes"] = bare_bytes
                    runs.append(r)
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted; reporting what was measured", flush=True)
    meta["bare_bytes"] = bare_bytes
    meta["wall_s"] = time.monotonic() - started
    meta["server_cpus"] = sorted(args.server_cpus or [])
    meta["client_cpus"] = sorted(args.client_cpus or [])
    return runs, meta, interrupted


def run_meta(plan: Plan, argv: list[str] | None) -> dict[str, Any]:
    """When, where and how the whole invocation ran, for the report."""
    return {
        "plan": plan.name,
        "when": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": git_commit(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "rate": plan.rate,
        "steady_s": plan.steady_s,
        "concurrency": plan.concurrency,
        "rounds": plan.rounds,
        "plan_detail": asdict(plan),
    }


def report(runs: list[dict[str, Any]], meta: dict[str, Any], args: argparse.Namespace) -> None:
    """The table on stdout; the markdown, plot and JSON files."""
    name = meta["plan"]
    rows = table_rows(runs)
    print()
    if set(peer_targets(runs)) - {"kehai", "bare"}:
        print(f"Kehai beside bare Quart and the peers: median (min) of {meta['rounds']} rounds")
        print(text_table(peer_rows(runs), peer_head(runs)))
    print(f"Kehai / bare Quart + Hypercorn ({name}; {meta['wall_s']:.0f} s)")
    print(text_table(rows))
    print("CPU per run (other processes = noise):")
    print("\n".join("  " + x for x in noise_lines(runs)))

    files = not args.no_files and name != "smoke"
    suffix = "" if name == "full" else f"-{name}"
    default_md = RESULTS / ("latest.md" if name == "full" else f"{name}.md")
    md_path = Path(args.md) if args.md else (default_md if files else None)
    plot_path = (
        Path(args.plot) if args.plot else (RESULTS / f"latency{suffix}.png" if files else None)
    )
    title = (f"Kehai and the peers: fan-out latency at {meta['rate']:g} msg/s "
             f"({name} run, {meta['when']})")
    if plot_path is not None and plot(runs, plot_path, title):
        print(f"plot: {plot_path}")
        meta["plot"] = str(plot_path)
    if md_path is not None:
        md_path.parent.mkdir(parents=True, exist_ok=True)
        md_path.write_text(markdown(rows, runs, meta))
        print(f"markdown: {md_path}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps({"meta": meta, "runs": runs, "table": rows}, indent=2, default=str) + "\n"
        )
        print(f"json: {args.json}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:  # render the table, markdown and plot of an earlier run again
        saved = json.loads(Path(args.from_json).read_text())
        runs, meta = saved["runs"], saved["meta"]
        if args.json and Path(args.json).resolve() == Path(args.from_json).resolve():
            args.json = None
        report(runs, meta, args)
        return 1 if any("failure" in r for r in runs) or not runs else 0
    fanout.use_app_root(None)  # the app under test: this checkout (for seeding)
    plan = PLANS[args.plan_name]
    if args.streams:
        plan.streams = [int(x) for x in args.streams.split(",") if x.strip()]
    for attr, val in (
        ("steady_s", args.steady_s),
        ("rate", args.rate),
        ("typists", args.typists),
        ("scenarios_at", args.scenarios_at),
    ):
        if val is not None:
            setattr(plan, attr, val)
    if args.rounds is not None:
        plan.rounds = max(1, args.rounds)
    default = "kehai,bare,kehai-2w" if args.smoke else ",".join(TARGETS)
    targets = [t.strip() for t in (args.targets or default).split(",") if t.strip()]
    if not targets or any(t not in TARGETS for t in targets):
        raise SystemExit(f"run: --targets takes {', '.join(TARGETS)}")
    if args.client_cpus:
        os.sched_setaffinity(0, args.client_cpus)  # the harness (and what it spawns) too
    runs, meta, interrupted = measure_all(plan, targets, args, argv)
    report(runs, meta, args)
    if interrupted:
        return 130
    return 1 if any("failure" in r for r in runs) or not runs else 0


if __name__ == "__main__":
    raise SystemExit(main())
