#!/usr/bin/env python
"""Fan-out benchmark: N open SSE streams, one conversation of N members, messages through the
real POST route; prints p50/p99 delivery latency, deliveries/s and server memory per stream.

    python bench/fanout.py [--streams 1000] [--messages 50] [--rate 0] [--workers 1]
                           [--json out.json]

How it works (see bench/README.md):

1. A fresh instance directory is seeded directly through the app's own models (N users sharing
   one precomputed argon2 hash, one group conversation with all N members, one Session row per
   user), and a signed `kehai_session` cookie is minted per user the way Quart does.
2. `python run.py` is started on a free port (stdout/stderr go to `<instance>/server.log`).
3. One or more client processes (asyncio protocols, hand-written HTTP/1.1 + SSE parsing) open
   one stream per user and report when each stream received its first frame.
4. After the presence announcements caused by N people coming online have died down, messages
   are POSTed to /c/<id>/messages by one member; every stream records when each `new-message`
   frame arrived. Latency = receive time - send time (same machine, CLOCK_MONOTONIC).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the checkout whose app is benchmarked

CLK_TCK = os.sysconf("SC_CLK_TCK")
NEW_MESSAGE_MARK = b'data: <div data-event="new-message"'
MESSAGE_ID_ATTR = b'data-message-id="'
SENT_ID = re.compile(r'data-message-id="(\d+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PASSWORD = "bench-password-not-used"


# ---------------------------------------------------------------------------------------------
# small helpers


def raise_fd_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE (soft, and hard when allowed) to at least `wanted`; returns soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    if hard != resource.RLIM_INFINITY and hard < wanted:
        with contextlib.suppress(ValueError, OSError):  # only root may raise the hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        wanted = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (the server may fork workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_bytes(pid: int) -> int:
    """VmRSS of the server process tree, in bytes."""
    return sum(_status_kb(p, "VmRSS") for p in process_tree(pid)) * 1024


def hwm_bytes(pid: int) -> int:
    return sum(_status_kb(p, "VmHWM") for p in process_tree(pid)) * 1024


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total / CLK_TCK


def machine_busy() -> float:
    """CPU seconds every core of the machine spent busy since boot (from /proc/stat)."""
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK  # all but idle and iowait


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def mib(n: float) -> str:
    return f"{n / 1048576:,.1f} MiB"


# ---------------------------------------------------------------------------------------------
# seeding: N users, one group conversation, one session each, signed cookies


def seed(instance: Path, n: int, secret_key: str) -> dict[str, Any]:
    """Bulk-insert the bench's users straight into a fresh database; mint their cookies."""
    from argon2 import PasswordHasher
    from quart import Quart
    from quart.sessions import SecureCookieSessionInterface

    from app import db
    from app.migrate import apply_pending
    from app.models import GROUP, Conversation, Membership, Session, User
    from app.models.base import utcnow

    database = db.init(f"sqlite:///{instance / 'kehai.sqlite3'}", threads=1)
    apply_pending(database)
    shared_hash = PasswordHasher().hash(PASSWORD)  # one hash for everyone: argon2 is slow
    now = utcnow()
    batch = 500
    sessions: list[tuple[str, str]] = []  # (sid, csrf) by user index
    with database.connection_context(), database.atomic():
        users = [
            {
                "username": f"bench{i:05d}",
                "display_name": f"Bench {i:05d}",
                "password_hash": shared_hash,
                "role": "member",
                "created": now,
            }
            for i in range(n)
        ]
        for start in range(0, n, batch):
            User.insert_many(users[start : start + batch]).execute()
        ids = [
            u.id
            for u in User.select(User.id)
            .where(User.username.startswith("bench"))
            .order_by(User.username)
        ]
        conversation = Conversation.create(
            kind=GROUP, title=f"Fan-out {n}", created=now, last_activity=now
        )
        members = [{"user": uid, "conversation": conversation.id, "joined": now} for uid in ids]
        for start in range(0, n, batch):
            Membership.insert_many(members[start : start + batch]).execute()
        rows = []
        for uid in ids:
            sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            sessions.append((sid, csrf))
            rows.append({"id": sid, "user": uid, "created": now})
        for start in range(0, n, batch):
            Session.insert_many(rows[start : start + batch]).execute()
    db.shutdown()

    # The cookie Quart itself would set: itsdangerous URLSafeTimedSerializer, same salt,
    # key derivation, digest and tagged-JSON serializer, signed with the instance's key.
    quart_app = Quart("kehai-bench")
    quart_app.config["SECRET_KEY"] = secret_key
    signer = SecureCookieSessionInterface().get_signing_serializer(quart_app)
    assert signer is not None
    cookies = [
        signer.dumps({"sid": sid, "csrf": csrf, "_permanent": True}) for sid, csrf in sessions
    ]
    return {
        "conversation_id": conversation.id,
        "user_ids": ids,
        "cookies": cookies,
        "csrf": [c for _, c in sessions],
    }


# ---------------------------------------------------------------------------------------------
# the client: one process holds thousands of streams with asyncio protocols (no coroutine per chunk)


class HttpStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class Stream:
    __slots__ = (
        "cookie",
        "first_at",
        "idx",
        "last_id",
        "last_msg",
        "need",
        "raw",
        "seen",
        "skip",
        "sse",
        "started_at",
    )

    def __init__(self, idx: int, cookie: str) -> None:
        self.idx = idx
        self.cookie = cookie
        self.last_id: bytes | None = None  # decoded only when a request needs it
        self.last_msg = 0  # highest message id seen: a lower one later is out of order
        self.seen: set[int] = set()  # message ids delivered on this stream
        self.first_at: float | None = None
        self.started_at = 0.0
        self.reset()

    def reset(self) -> None:
        self.raw = b""  # an incomplete chunk-size line
        self.need = 0  # payload bytes left in the current chunk
        self.skip = 0  # CRLF bytes left after a chunk
        self.sse = b""  # an incomplete SSE event

    def dechunk(self, data: bytes) -> tuple[bytes, bool]:
        """HTTP/1.1 chunked transfer decoding; returns (payload, ended)."""
        if not (self.raw or self.need or self.skip):
            # The usual read: exactly one whole chunk (the server writes one per wake-up).
            head = data.find(b"\r\n", 0, 12)
            if head > 0 and data.endswith(b"\r\n"):
                with contextlib.suppress(ValueError):
                    size = int(data[:head], 16)
                    if size and head + 2 + size + 2 == len(data):
                        return data[head + 2 : -2], False
        buf = self.raw + data if self.raw else data
        self.raw = b""
        out: list[bytes] = []
        pos, n = 0, len(buf)
        while pos < n:
            if self.skip:
                k = min(self.skip, n - pos)
                pos += k
                self.skip -= k
                continue
            if self.need == 0:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    self.raw = buf[pos:]
                    break
                size = int(buf[pos:end].split(b";", 1)[0], 16)
                pos = end + 2
                if size == 0:
                    return b"".join(out), True
                self.need = size
                continue
            k = min(self.need, n - pos)
            out.append(buf[pos : pos + k])
            pos += k
            self.need -= k
            if self.need == 0:
                self.skip = 2
        return b"".join(out), False


def _message_ids(frames: bytes) -> list[int]:
    """The message id of every new-message event in complete SSE frames (no regex: the
    client's CPU per frame bounds what a two-core machine can measure)."""
    out = []
    pos = frames.find(NEW_MESSAGE_MARK)
    while pos >= 0:
        start = frames.index(MESSAGE_ID_ATTR, pos) + len(MESSAGE_ID_ATTR)
        out.append(int(frames[start : frames.index(b'"', start)]))
        pos = frames.find(NEW_MESSAGE_MARK, start)
    return out


class SseProtocol(asyncio.Protocol):
    """One stream's connection, parsed in `data_received`: no coroutine wakes up per chunk.

    With 10,000 streams on the same two cores as the server, the client's own cost per frame
    bounds what can be measured; a StreamReader loop per stream cost about 15 % more CPU per frame.
    """

    def __init__(self, client: Client, s: Stream, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.s = s
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.status: int | None = None
        self.chunked = False
        self.headed: asyncio.Future[int] = loop.create_future()  # the HTTP status
        self.framed: asyncio.Future[float] = loop.create_future()  # first frame: its time
        self.closed: asyncio.Future[bool] = loop.create_future()  # True: ended by the server
        self.error: Exception | None = None  # how the connection broke, if it did

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.status is None:
            buf = self.head + data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.head = buf
                return
            head, data = buf[: end + 4], buf[end + 4 :]
            self.head = b""
            self.status = int(head[9:12])
            self.chunked = b"chunked" in head.lower()
            self.headed.set_result(self.status)
            if self.status != 200:
                self.transport.close()  # type: ignore[union-attr]
                return
        if not data:
            return
        now = time.monotonic()
        client = self.client
        stats = client.stats
        stats["bytes"] += len(data)
        ended = False
        if self.chunked:
            data, ended = self.s.dechunk(data)
        if data:
            frames0 = stats["frames"]
            first = client.feed(self.s, data, now)
            if (first or stats["frames"] > frames0) and not self.framed.done():
                self.framed.set_result(now)
        if ended:
            self._finish(True)
            self.transport.close()  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        self._finish(True)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.headed.done():
            self.headed.set_exception(exc or ConnectionResetError("closed before a response"))
        self._finish(exc is None, exc)

    def _finish(self, by_server: bool, exc: Exception | None = None) -> None:
        if not self.framed.done():
            self.framed.set_result(-1.0)  # closed before any frame
        if not self.closed.done():
            self.error = exc
            self.closed.set_result(by_server)


class Client:
    """Holds a slice of the streams; reports stats to the parent over a pipe."""

    def __init__(
        self,
        pipe: Any,
        host: str,
        port: int,
        cookies: list[tuple[int, str]],
        connect_concurrency: int,
    ) -> None:
        self.pipe = pipe
        self.host = host
        self.port = port
        self.streams = [Stream(i, c) for i, c in cookies]
        self.sem = asyncio.Semaphore(connect_concurrency)
        self.stopping = False
        self.tasks: list[asyncio.Task[None]] = []
        self.live: dict[asyncio.Transport, Stream] = {}  # open connections
        self.recv: dict[int, list[float]] = {}
        self.stats = Counter[str]()
        self.errors = Counter[str]()

    def snapshot(self) -> dict[str, Any]:
        return {**self.stats, "errors": dict(self.errors), "pid": os.getpid()}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reporter: asyncio.Task[None] | None = None
        while True:
            cmd = await asyncio.to_thread(self.pipe.recv)
            if cmd == "connect":
                self.tasks = [loop.create_task(self.hold(s)) for s in self.streams]
                reporter = loop.create_task(self.report())
            elif cmd == "collect":
                self.pipe.send(
                    (
                        "result",
                        {
                            "recv": self.recv,
                            "connect": [
                                s.first_at - s.started_at
                                for s in self.streams
                                if s.first_at is not None
                            ],
                            "first_at": [
                                s.first_at for s in self.streams if s.first_at is not None
                            ],
                            "stats": self.snapshot(),
                        },
                    )
                )
            elif cmd == "stop":
                await self.stop(reporter)
                return

    async def stop(self, reporter: asyncio.Task[None] | None) -> None:
        self.stopping = True
        if reporter is not None:
            reporter.cancel()
        for transport in list(self.live):
            transport.close()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.pipe.send(("stopped", self.snapshot()))

    async def report(self) -> None:
        while True:
            self.pipe.send(("stats", self.snapshot()))
            await asyncio.sleep(0.25)

    def request(self, s: Stream) -> bytes:
        lines = [
            "GET /sse HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Cookie: kehai_session={s.cookie}",
            "Accept: text/event-stream",
            "Accept-Language: en",
            "Cache-Control: no-cache",
        ]
        if s.last_id is not None:
            lines.append(f"Last-Event-ID: {s.last_id.decode()}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def connected(self, s: Stream, now: float) -> None:
        """A connection's first frame arrived (hook for the harness's reconnect storm)."""

    def dropping(self, s: Stream) -> bool:
        """True while the harness itself is closing this stream (not an error)."""
        return False

    async def resumed_by_harness(self, s: Stream) -> bool:
        """After a deliberate drop: wait until the stream should come back, return True."""
        return False

    async def hold(self, s: Stream) -> None:
        """Keep one stream open; on a server-side end, resume with Last-Event-ID.

        At most `connect_concurrency` connections are being opened at once: a slot is held
        from TCP connect until the connection's first frame (Hypercorn's backlog is 100).
        """
        loop = asyncio.get_running_loop()
        stats, errors = self.stats, self.errors
        attempt = 0
        while not self.stopping:
            await self.sem.acquire()
            held = True
            transport: asyncio.Transport | None = None
            s.reset()
            if s.first_at is None:
                s.started_at = time.monotonic()
            try:
                transport, proto = await asyncio.wait_for(
                    loop.create_connection(lambda: SseProtocol(self, s, loop),
                                           self.host, self.port), 30)
                self.live[transport] = s
                transport.write(self.request(s))
                status = await asyncio.wait_for(proto.headed, 30)
                if status != 200:
                    raise HttpStatus(status)
                stats["open_now"] += 1
                try:
                    first = await proto.framed
                    if first >= 0:
                        held = False
                        self.sem.release()
                        attempt = 0
                        self.connected(s, first)
                    by_server = await proto.closed
                    if proto.error is not None:
                        raise proto.error
                    if by_server and not self.dropping(s):
                        stats["ended_by_server"] += 1
                finally:
                    stats["open_now"] -= 1
            except asyncio.CancelledError:
                raise
            except HttpStatus as exc:
                errors[f"HTTP {exc.status}"] += 1
            except (OSError, TimeoutError, ValueError) as exc:
                if not self.stopping and not self.dropping(s):
                    errors[type(exc).__name__] += 1
            finally:
                if held:
                    self.sem.release()
                if transport is not None:
                    self.live.pop(transport, None)
                    transport.close()
            if self.stopping:
                return
            if await self.resumed_by_harness(s):
                continue
            stats["reconnects"] += 1
            attempt += 1
            await asyncio.sleep(min(0.25 * 2 ** min(attempt, 5), 5.0) * (0.5 + random.random()))

    def feed(self, s: Stream, payload: bytes, now: float) -> bool:
        """Consume SSE bytes; returns True when this was the stream's first complete frame."""
        sse = s.sse + payload if s.sse else payload
        cut = sse.rfind(b"\n\n")
        if cut < 0:
            s.sse = sse
            return False
        complete = sse[: cut + 2]
        s.sse = sse[cut + 2 :]
        stats = self.stats
        events = complete.count(b"\n\n")
        if b": ping" in complete:
            pings = complete.count(b": ping\n")
            stats["pings"] += pings
            events -= pings
        stats["frames"] += events
        p = complete.rfind(b"\nid: ")
        start = p + 5 if p >= 0 else (4 if complete.startswith(b"id: ") else -1)
        if start >= 0:
            s.last_id = complete[start : complete.index(b"\n", start)]
        if b'"resync"' in complete:
            stats["resyncs"] += complete.count(b'data-event="resync"')
        if b'"new-message"' in complete:
            recv = self.recv
            for mid in _message_ids(complete):
                if mid in s.seen:
                    stats["duplicates"] += 1
                    continue
                s.seen.add(mid)
                if mid < s.last_msg:
                    stats["out_of_order"] += 1  # concurrent POSTs publish in any order
                else:
                    s.last_msg = mid
                stats["deliveries"] += 1
                times = recv.get(mid)
                if times is None:
                    recv[mid] = [now]
                else:
                    times.append(now)
        if s.first_at is None and events:
            s.first_at = now
            stats["opened"] += 1
            return True
        return False


def client_main(
    pipe: Any,
    host: str,
    port: int,
    cookies: list[tuple[int, str]],
    connect_concurrency: int,
    fd_limit: int,
) -> None:
    serve_client(fd_limit, lambda: Client(pipe, host, port, cookies, connect_concurrency))


def serve_client(fd_limit: int, make: Callable[[], Client]) -> None:
    """A client process's life: file limit, no SIGINT, uvloop, then the client's loop."""
    raise_fd_limit(fd_limit)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(make().run())


# ---------------------------------------------------------------------------------------------
# the server under test


class ManagedProcess:
    """A server in a subprocess: launched, waited for on /healthz, stopped with SIGTERM
    (the Kehai server here, the bare broadcaster in bench/run.py)."""

    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def failure(self, what: str) -> str:
        tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        return f"{what}.\n--- {self.log} (tail) ---\n{tail}--- end of log ---"

    def launch(self, cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> None:
        import httpx

        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(
                    self.failure(
                        f"the server exited with status {self.proc.returncode} while starting"
                    )
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise SystemExit(self.failure(f"the server did not answer /healthz within {timeout:.0f} s"))

    def stop(self, timeout: float = 20.0) -> float:
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - began


class ServerProcess(ManagedProcess):
    def __init__(
        self,
        instance: Path,
        port: int,
        workers: int,
        tuning: dict[str, Any],
        secret_key: str,
        log: Path,
        gc_stats: Path | None = None,
    ) -> None:
        self.gc_stats = gc_stats
        self.instance = instance
        self.port = port
        self.workers = workers
        self.tuning = tuning
        self.secret_key = secret_key
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        env = {
            **os.environ,
            "KEHAI_INSTANCE_DIR": str(self.instance),
            "KEHAI_PORT": str(self.port),
            "KEHAI_HOST": "127.0.0.1",
            "KEHAI_SECRET_KEY": self.secret_key,
            "KEHAI_TUNING": json.dumps(self.tuning),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("KEHAI_DATABASE_URL", None)
        cmd = [sys.executable, str(ROOT / "run.py")]
        if self.gc_stats is not None:  # same process, with gc.callbacks recording pauses
            cmd[1:1] = [str(Path(__file__).resolve().parent / "_gcwrap.py"), str(self.gc_stats)]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
            env["KEHAI_REDIS_URL"] = os.environ.get("KEHAI_REDIS_URL", "redis://127.0.0.1:6379/0")
            # Our own key prefix: other users of the same Redis never see the bench's events.
            env["KEHAI_REDIS_PREFIX"] = f"kehai-bench-{self.port}:"
            env["KEHAI_WORKERS"] = str(self.workers)
        else:
            env.pop("KEHAI_REDIS_URL", None)
        self.launch(cmd, ROOT, env, timeout)

    def stop(self, timeout: float = 20.0) -> float:
        took = super().stop(timeout)
        if self.workers > 1:
            self.forget_redis_keys()
        return took

    def forget_redis_keys(self) -> None:
        """Delete this run's keys (events, leases, limits) so that runs do not pile up in Redis."""
        with contextlib.suppress(Exception):
            import redis

            url = os.environ.get("KEHAI_REDIS_URL", "redis://127.0.0.1:6379/0")
            client = redis.Redis.from_url(url)
            keys = list(client.scan_iter(match=f"kehai-bench-{self.port}:*", count=1000))
            for i in range(0, len(keys), 1000):
                client.delete(*keys[i : i + 1000])
            client.close()

    def failure(self, what: str) -> str:
        hint = ""
        if self.workers > 1:
            hint = (
                "\n(--workers > 1 needs multi-process serving and the Redis broker "
                "in the app; see the log above.)"
            )
        return f"fanout: {super().failure(what)}{hint}"

class Profiler:
    """Optional py-spy sampling of the server, one file per phase."""

    def __init__(self, out_dir: Path | None, pid: int) -> None:
        self.out_dir = out_dir
        self.pid = pid
        self.proc: subprocess.Popen[bytes] | None = None
        self.exe = shutil.which("py-spy")

    def start(self, phase: str) -> None:
        if self.out_dir is None or self.exe is None:
            return
        self.stop()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        out = self.out_dir / f"{phase}.txt"
        self.proc = subprocess.Popen(
            [
                self.exe,
                "record",
                "-p",
                str(self.pid),
                "-r",
                "40",
                "-f",
                "raw",
                "-o",
                str(out),
                "--threads",
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
        self.proc = None


# ---------------------------------------------------------------------------------------------
# the run


class ClientPool:
    """The client processes of a bench run: started, heard from over pipes, stopped.

    Shared by this bench and bench/run.py; `on_reply` takes what is not a stats report.
    """

    def init_clients(self) -> None:
        self.pipes: list[Any] = []
        self.procs: list[Any] = []
        self.stats: list[dict[str, Any]] = []

    def spawn_clients(self, target: Any, name: str, k: int, n: int, cookies: list[str],
                      concurrency: int, host: str, port: int, extra: tuple[Any, ...]) -> None:
        """k processes, each holding every k-th of the n streams: target(pipe, host, port,
        streams, connect concurrency, *extra)."""
        ctx = mp.get_context("spawn")
        per_proc = max(1, concurrency // k)
        for j in range(k):
            parent_end, child_end = ctx.Pipe()
            part = [(i, cookies[i]) for i in range(j, n, k)]
            proc = ctx.Process(target=target, name=f"{name}-{j}", daemon=True,
                               args=(child_end, host, port, part, per_proc, *extra))
            proc.start()
            child_end.close()
            self.pipes.append(parent_end)
            self.procs.append(proc)
            self.stats.append({})

    def on_reply(self, j: int, kind: str, payload: Any) -> None:
        """A client's answer to a command (not a stats report)."""

    def pump(self) -> None:
        """Read whatever the clients reported."""
        for j, pipe in enumerate(self.pipes):
            with contextlib.suppress(OSError, ValueError):
                while pipe.poll():
                    try:
                        kind, payload = pipe.recv()
                    except EOFError:
                        break
                    if kind in ("stats", "stopped"):
                        self.stats[j] = payload
                    else:
                        self.stats[j] = payload["stats"]
                        self.on_reply(j, kind, payload)

    def total(self, key: str) -> int:
        return sum(int(s.get(key, 0)) for s in self.stats)

    def errors(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for s in self.stats:
            out.update(s.get("errors", {}))
        return dict(out)

    def client_pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def stop_clients(self, stop_message: Any, limit_s: float) -> None:
        """Ask every client to stop, wait up to `limit_s`, then kill what is left."""
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(stop_message)
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and any(p.is_alive() for p in self.procs):
            self.pump()
            time.sleep(0.05)
        for p in self.procs:
            if p.is_alive():
                p.kill()
            p.join(5)
        for pipe in self.pipes:
            with contextlib.suppress(Exception):
                pipe.close()


def merge_received(replies: list[dict[str, Any] | None]) -> dict[int, list[float]]:
    """Receive times by message id, over the client processes' `collect` answers."""
    per_msg: dict[int, list[float]] = {}
    for res in replies:
        if res is None:
            continue
        for mid, times in res["recv"].items():
            per_msg.setdefault(mid, []).extend(times)
    return per_msg


@dataclass
class PhaseMark:
    """Where a phase began: the CPU counters, the server's GC record and its time."""

    began: tuple[float, float, float]
    gc0: dict[str, Any] | None
    t_gc: float


@dataclass
class Sent:
    """What the send phase posted: send time by message id, POST latencies and statuses."""

    at: dict[int, float] = field(default_factory=dict)
    post_lat: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    wall_s: float = 0.0


@dataclass
class Deliveries:
    """Every stream's receive times held against the send time of their message."""

    latencies: list[float] = field(default_factory=list)
    completion: list[float] = field(default_factory=list)  # last delivery of each message
    per_message: list[list[float]] = field(default_factory=list)
    missing: int = 0
    first_send: float = 0.0
    last_recv: float = 0.0


class StallWatch:
    """True once `count()` reaches `expected` or has not grown for `limit_s` seconds."""

    def __init__(self, count: Callable[[], int], expected: int, limit_s: float) -> None:
        self.count, self.expected, self.limit_s = count, expected, limit_s
        self.best, self.since = count(), time.monotonic()

    def __call__(self) -> bool:
        got = self.count()
        if got > self.best:
            self.best, self.since = got, time.monotonic()
        return got >= self.expected or time.monotonic() - self.since > self.limit_s


class Bench(ClientPool):
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.n = args.streams
        self.result: dict[str, Any] = {
            "app_root": str(ROOT),
            "streams": self.n,
            "messages": args.messages,
            "rate": args.rate,
            "workers": args.workers,
            "client_procs": args.client_procs,
        }
        self.init_clients()
        self.results: list[dict[str, Any] | None] = []
        self.server: ServerProcess | None = None
        self.profiler: Profiler | None = None
        self.log_path = Path()

    def log(self, text: str) -> None:
        if not self.args.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    # -- client processes ------------------------------------------------------------------

    def start_clients(self, host: str, port: int, cookies: list[str], fd_limit: int) -> None:
        k = self.args.client_procs
        self.spawn_clients(client_main, "fanout-client", k, self.n, cookies,
                           self.args.connect_concurrency, host, port, (fd_limit,))
        self.results.extend([None] * k)

    def on_reply(self, j: int, kind: str, payload: Any) -> None:
        if kind == "result":
            self.results[j] = payload

    def gc_snapshot(self, settle: bool = False) -> dict[str, Any] | None:
        """The server's GC pause record (only with --gc-stats)."""
        if self.server is None or self.server.gc_stats is None:
            return None
        if settle:
            time.sleep(2.2)  # the wrapper writes every 2 s
        try:
            return json.loads(self.server.gc_stats.read_text())
        except (OSError, ValueError):
            return None

    def gc_tracked(self) -> int | None:
        """Ask the wrapper to count GC-tracked objects in the server (between phases)."""
        if self.server is None or self.server.gc_stats is None or self.server.workers > 1:
            return None
        before = self.gc_snapshot()
        request = self.server.gc_stats.with_name(self.server.gc_stats.name + ".count")
        request.touch()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.gc_snapshot()
            if (
                now
                and now.get("tracked_objects") is not None
                and (before is None or now["at"] != before["at"])
            ):
                return int(now["tracked_objects"])
        return None

    def gc_phase(self, name: str, began: dict[str, Any] | None, t0: float) -> None:
        end = self.gc_snapshot(settle=True)
        if began is None or end is None:
            return
        g0, g1 = began["generations"], end["generations"]
        pauses = [p for t, p, _ in end["full_collections"] if t >= t0]
        self.result[f"gc_{name}"] = {
            "full_collections": g1["2"]["count"] - g0["2"]["count"],
            "full_total_s": g1["2"]["total_s"] - g0["2"]["total_s"],
            "full_max_s": max(pauses, default=0.0),
            "all_total_s": sum(g1[k]["total_s"] - g0[k]["total_s"] for k in g1),
            "young_collections": sum(g1[k]["count"] - g0[k]["count"] for k in ("0", "1")),
        }

    def phase_begin(self) -> tuple[float, float, float]:
        return (
            cpu_seconds(process_tree(self.server.pid)),
            cpu_seconds(self.client_pids()),
            machine_busy(),
        )

    def phase_end(self, name: str, began: tuple[float, float, float]) -> None:
        """CPU used by the server, the clients and everything else on the machine."""
        server = cpu_seconds(process_tree(self.server.pid)) - began[0]
        clients = cpu_seconds(self.client_pids()) - began[1]
        other = machine_busy() - began[2] - server - clients
        self.result[f"server_cpu_{name}_s"] = server
        self.result[f"client_cpu_{name}_s"] = clients
        self.result[f"other_cpu_{name}_s"] = max(other, 0.0)

    def broadcast(self, cmd: str) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(cmd)

    async def wait_for(
        self, predicate: Any, limit_s: float, every: float = 0.25, progress: Any = None
    ) -> bool:
        deadline = time.monotonic() + limit_s
        last_print = 0.0
        while time.monotonic() < deadline:
            self.pump()
            if predicate():
                return True
            if not self.server.alive():
                return False
            if progress is not None and time.monotonic() - last_print >= 5:
                last_print = time.monotonic()
                self.log(progress())
            await asyncio.sleep(every)
        self.pump()
        return predicate()

    # -- phases ----------------------------------------------------------------------------

    def prepare(self) -> tuple[dict[str, Any], int]:
        """Raise the fd limit, seed a fresh instance, start the server (blocking setup)."""
        args = self.args
        fd_needed = self.n + 4096
        fd_limit = raise_fd_limit(fd_needed)
        self.result["fd_limit"] = fd_limit
        if fd_limit < fd_needed - 3000:
            raise SystemExit(
                f"fanout: the open-file limit is {fd_limit}, too low for "
                f"{self.n} streams; raise it (ulimit -n {fd_needed})."
            )

        if args.instance:
            instance = Path(args.instance).resolve()
            if (instance / "kehai.sqlite3").exists():
                raise SystemExit(
                    f"fanout: {instance} already holds a database; pass an empty directory"
                )
            instance.mkdir(parents=True, exist_ok=True)
        else:
            instance = Path(tempfile.mkdtemp(prefix=f"kehai-fanout-{self.n}-"))
        self.instance = instance
        self.log_path = (
            Path(args.server_log).resolve() if args.server_log else instance / "server.log"
        )
        self.result["instance"] = str(instance)
        self.result["server_log"] = str(self.log_path)

        secret_key = secrets.token_urlsafe(48)
        t = time.monotonic()
        seeded = seed(instance, self.n, secret_key)
        self.result["seed_s"] = time.monotonic() - t
        self.result["loadavg_start"] = Path("/proc/loadavg").read_text().split()[:3]
        self.log(
            f"seeded {self.n} users, conversation {seeded['conversation_id']}, "
            f"in {self.result['seed_s']:.1f} s ({instance})"
        )

        tuning = {
            "max_streams_per_user": 10,
            "message_limit": [1_000_000, 1],
            **json.loads(args.tuning or "{}"),
        }
        self.result["tuning"] = tuning
        self.server = ServerProcess(
            instance,
            args.port or free_port(),
            args.workers,
            tuning,
            secret_key,
            self.log_path,
            # the wrapper can only watch one process: with --workers it would see the supervisor
            instance / "gc.json" if args.gc_stats and args.workers == 1 else None,
        )
        self.server.start()
        if self.server.gc_stats is not None:
            deadline = time.monotonic() + 10
            while not self.server.gc_stats.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        self.log(f"server pid {self.server.pid} on {self.server.url}; log {self.log_path}")
        self.profiler = Profiler(
            Path(args.profile).resolve() if args.profile else None, self.server.pid
        )
        return seeded, fd_limit

    def teardown(self) -> None:
        """Stop the profiler, the clients and the server; look through the server log."""
        if self.profiler is not None:
            self.profiler.stop()
        self.stop_clients("stop", 15)
        if self.server is not None:
            self.result["server_exit_s"] = self.server.stop()
            self.result["server_log_errors"] = scan_log(self.log_path)
        self.result["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]

    def mark_phase(self) -> PhaseMark:
        """The GC record, then the CPU counters, at the start of a phase."""
        gc0, t_gc = self.gc_snapshot(), time.monotonic()
        return PhaseMark(self.phase_begin(), gc0, t_gc)

    def finish_phase(self, name: str, mark: PhaseMark) -> None:
        """CPU and GC figures of the phase begun at `mark`."""
        self.phase_end(name, mark.began)
        self.gc_phase(name, mark.gc0, mark.t_gc)

    async def measure(self, seeded: dict[str, Any], fd_limit: int) -> dict[str, Any]:
        """Connect, settle, send, collect."""
        assert self.server is not None and self.profiler is not None
        await self.check_cookie(seeded["cookies"][0], seeded["csrf"][0])
        rss_before = await self.baseline()
        opened = await self.connect(seeded["cookies"], fd_limit, rss_before)
        await self.settle(rss_before, opened)
        sent = await self.send(seeded)
        await self.collect(sent)
        return self.result

    async def check_cookie(self, cookie: str, csrf: str) -> None:
        """The minted cookie must be accepted: the page shows our own CSRF token back."""
        import httpx

        async with httpx.AsyncClient(base_url=self.server.url, timeout=30) as http:
            r = await http.get("/", cookies={"kehai_session": cookie})
            meta = CSRF_META.search(r.text)
            if r.status_code != 200 or not meta or meta.group(1) != csrf:
                raise SystemExit(
                    f"fanout: the minted session cookie was refused "
                    f"(GET / -> {r.status_code}, csrf match: "
                    f"{bool(meta and meta.group(1) == csrf)})"
                )
            self.log("minted cookie accepted (GET / -> 200 with our CSRF token)")

    async def baseline(self) -> int:
        """The server's RSS (returned) and GC-tracked objects before any stream opens."""
        await asyncio.sleep(0.5)
        rss_before = rss_bytes(self.server.pid)
        self.result["server_rss_before"] = rss_before
        self.result["gc_tracked_before"] = self.gc_tracked()
        return rss_before

    # -- connect ---------------------------------------------------------------------------

    async def connect(self, cookies: list[str], fd_limit: int, rss_before: int) -> int:
        """Open one stream per user; returns how many opened."""
        args, n, server = self.args, self.n, self.server
        self.start_clients("127.0.0.1", server.port, cookies, fd_limit)
        mark = self.mark_phase()
        self.profiler.start("connect")
        t_connect = time.monotonic()
        self.broadcast("connect")
        ok = await self.wait_for(
            lambda: self.total("opened") >= n,
            args.connect_timeout,
            progress=lambda: (
                f"connecting: {self.total('opened')}/{n} open, "
                f"frames {self.total('frames'):,}, errors {self.errors()}, "
                f"server RSS {mib(rss_bytes(server.pid))}"
            ),
        )
        connect_wall = time.monotonic() - t_connect
        opened = self.total("opened")
        rss_open = rss_bytes(server.pid) if server.alive() else 0
        self.result.update(
            {
                "connect_s": connect_wall,
                "opened": opened,
                "connect_errors": self.errors(),
                "server_rss_after_open": rss_open,
                "server_mem_per_stream": (rss_open - rss_before) / max(opened, 1),
                "frames_during_connect": self.total("frames"),
            }
        )
        self.finish_phase("connect", mark)
        self.result["gc_tracked_open"] = self.gc_tracked()
        self.report_connect(ok, opened, connect_wall, rss_before, rss_open)
        return opened

    def report_connect(
        self, ok: bool, opened: int, wall_s: float, rss_before: int, rss_open: int
    ) -> None:
        """Log the connect phase; a dead server ends the run, a slow connect leaves a note."""
        self.log(
            f"{opened}/{self.n} streams open in {wall_s:.1f} s; server RSS "
            f"{mib(rss_before)} -> {mib(rss_open)} "
            f"({(rss_open - rss_before) / max(opened, 1) / 1024:.1f} KiB/stream)"
        )
        if not self.server.alive():
            raise ServerDied(self, "while the streams were opening")
        if not ok:
            self.result["note"] = (
                f"only {opened}/{self.n} streams opened within {self.args.connect_timeout} s"
            )
            self.log(self.result["note"])

    # -- settle: N people came online, each announced to N-1 others ------------------------

    async def settle(self, rss_before: int, opened: int) -> None:
        """Wait for the presence announcements to die down; memory once they have."""
        args, server = self.args, self.server
        gc0, t_gc = self.gc_snapshot(), time.monotonic()
        self.profiler.start("settle")
        t_settle = time.monotonic()
        mark = PhaseMark(self.phase_begin(), gc0, t_gc)
        settled = await self.wait_settled(t_settle, mark.began[0])
        settle_s = time.monotonic() - t_settle - (args.settle_quiet if settled else 0)
        rss_settled = rss_bytes(server.pid)
        self.finish_phase("settle", mark)
        self.result.update(
            {
                "settle_s": settle_s,
                "settled": settled,
                "presence_frames": self.total("frames") - self.total("resyncs"),
                "server_rss_settled": rss_settled,
                "server_mem_per_stream_settled": (rss_settled - rss_before) / max(opened, 1),
                "reconnects_before_send": self.total("reconnects"),
            }
        )
        self.log(
            f"settled={settled} after {settle_s:.1f} s: {self.result['presence_frames']:,} "
            f"presence frames, server RSS {mib(rss_settled)}, still open "
            f"{self.total('open_now')}"
        )

    async def wait_settled(self, t_settle: float, cpu0: float) -> bool:
        """Until no frames arrive and the server is idle for --settle-quiet s (True)."""
        args, server = self.args, self.server
        quiet_since = time.monotonic()
        last_frames = -1
        last_cpu, last_t = cpu0, time.monotonic()
        last_print = 0.0
        while time.monotonic() - t_settle < args.settle_timeout:
            await asyncio.sleep(0.5)
            self.pump()
            if not server.alive():
                raise ServerDied(self, "while the presence announcements were being delivered")
            frames = self.total("frames")
            cpu = cpu_seconds(process_tree(server.pid))
            now = time.monotonic()
            busy = (cpu - last_cpu) / (now - last_t)
            last_cpu, last_t = cpu, now
            if frames != last_frames or busy > 0.2:
                quiet_since = now
                last_frames = frames
            if now - quiet_since >= args.settle_quiet:
                return True
            if now - last_print >= 5:
                last_print = now
                self.log(
                    f"settling: {frames:,} frames received, server CPU {busy:.0%}, "
                    f"RSS {mib(rss_bytes(server.pid))}"
                )
        return False

    # -- send ------------------------------------------------------------------------------

    async def send(self, seeded: dict[str, Any]) -> Sent:
        """POST the messages (open or closed loop) and wait until they are delivered."""
        args, server = self.args, self.server
        frames0 = self.total("frames")
        deliveries0 = self.total("deliveries")
        sent = Sent()
        mark = self.mark_phase()
        self.profiler.start("send")
        async with self.sender_client(seeded["cookies"][0], seeded["csrf"][0]) as http:
            conv = seeded["conversation_id"]
            t_send = time.monotonic()
            if args.rate > 0:
                await self.send_open_loop(lambda i: self.post(http, conv, i, sent), t_send)
            else:
                await self.send_closed_loop(lambda i: self.post(http, conv, i, sent))
            sent.wall_s = time.monotonic() - t_send
        await self.await_deliveries(sent, deliveries0)
        self.profiler.stop()
        if not server.alive():
            raise ServerDied(self, "while the messages were being delivered")
        self.finish_phase("send", mark)
        self.result.update(
            {
                "server_rss_after_send": rss_bytes(server.pid),
                "server_rss_peak": hwm_bytes(server.pid),
                "other_frames_during_send": (self.total("frames") - frames0)
                - (self.total("deliveries") - deliveries0),
            }
        )
        return sent

    def sender_client(self, cookie: str, csrf: str) -> Any:
        """An httpx client signed in as the sender, with room for --concurrency POSTs."""
        import httpx

        return httpx.AsyncClient(
            base_url=self.server.url,
            timeout=120,
            limits=httpx.Limits(max_connections=self.args.concurrency + 4),
            cookies={"kehai_session": cookie},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true", "Accept-Language": "en"},
        )

    async def post(self, http: Any, conv: int, i: int, sent: Sent) -> None:
        """Message `i` through the real POST route; its send time kept by message id."""
        import httpx

        t0 = time.monotonic()
        try:
            r = await http.post(
                f"/c/{conv}/messages",
                data={
                    "body": f"fan-out message {i} " + "x" * self.args.body,
                    "client_id": f"bench-{i}",
                },
            )
        except httpx.HTTPError as exc:
            sent.statuses[-1] += 1
            self.log(f"POST {i} failed: {exc!r}")
            return
        sent.post_lat.append(time.monotonic() - t0)
        sent.statuses[r.status_code] += 1
        found = SENT_ID.search(r.text)
        if r.status_code == 201 and found:
            sent.at[int(found.group(1))] = t0
        elif r.status_code != 201:
            self.log(f"POST {i} -> {r.status_code}: {r.text[:200]!r}")

    async def send_open_loop(self, post: Callable[[int], Awaitable[None]], t_send: float) -> None:
        """--rate messages/s on the clock, whether or not the earlier POSTs were answered."""
        tasks = []
        for i in range(self.args.messages):
            delay = t_send + i / self.args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.pump()
            tasks.append(asyncio.create_task(post(i)))
        await asyncio.gather(*tasks)

    async def send_closed_loop(self, post: Callable[[int], Awaitable[None]]) -> None:
        """--concurrency senders, each POSTing its next message once the last was answered."""
        counter = iter(range(self.args.messages))

        async def sender() -> None:
            for i in counter:
                await post(i)

        await asyncio.gather(*(sender() for _ in range(self.args.concurrency)))

    async def await_deliveries(self, sent: Sent, deliveries0: int) -> None:
        """Until every stream has every sent message, or --deliver-timeout without progress."""
        expected = self.n * len(sent.at)
        self.log(
            f"sent {len(sent.at)}/{self.args.messages} messages in {sent.wall_s:.2f} s "
            f"(statuses {dict(sent.statuses)}); waiting for {expected:,} deliveries"
        )
        await self.wait_for(
            StallWatch(
                lambda: self.total("deliveries") - deliveries0,
                expected,
                self.args.deliver_timeout,
            ),
            24 * 3600,
            progress=lambda: (
                f"delivering: {self.total('deliveries') - deliveries0:,}"
                f"/{expected:,}, server RSS "
                f"{mib(rss_bytes(self.server.pid))}"
            ),
        )

    # -- collect ---------------------------------------------------------------------------

    async def collect(self, sent: Sent) -> None:
        """Fetch every client's receive times and the server's metrics; the figures."""
        self.broadcast("collect")
        await self.wait_for(lambda: all(r is not None for r in self.results), 120)
        deliveries = self.tally(sent.at)
        metrics = await self.server_metrics()
        self.result.update(self.delivery_figures(sent, deliveries, metrics))

    def tally(self, send_at: dict[int, float]) -> Deliveries:
        """Latencies, completion times and missing deliveries, message by message."""
        per_msg = merge_received(self.results)
        d = Deliveries(first_send=min(send_at.values()) if send_at else 0.0)
        for mid, t0 in sorted(send_at.items(), key=lambda kv: kv[1]):  # in send order
            times = per_msg.get(mid, [])
            d.missing += self.n - len(times)
            if times:
                d.latencies.extend(t - t0 for t in times)
                d.completion.append(max(times) - t0)
                d.last_recv = max(d.last_recv, max(times))
                # (message id, sent at, first and last delivery)
                d.per_message.append(
                    [
                        mid,
                        round(t0 - d.first_send, 4),
                        round(min(times) - t0, 4),
                        round(max(times) - t0, 4),
                    ]
                )
        d.latencies.sort()
        d.completion.sort()
        return d

    async def server_metrics(self) -> dict[str, float]:
        """The server's /metrics counters ({} when they cannot be read)."""
        import httpx

        metrics: dict[str, float] = {}
        with contextlib.suppress(Exception):
            async with httpx.AsyncClient(base_url=self.server.url, timeout=30) as http:
                metrics = parse_metrics((await http.get("/metrics")).text)
        return metrics

    def delivery_figures(
        self, sent: Sent, d: Deliveries, metrics: dict[str, float]
    ) -> dict[str, Any]:
        """The send and delivery figures of the result."""
        latencies = d.latencies
        sent.post_lat.sort()
        connect_lat = sorted(x for r in self.results if r for x in r["connect"])
        span = d.last_recv - d.first_send if sent.at and d.last_recv else float("nan")
        return {
            "sent": len(sent.at),
            "post_statuses": dict(sent.statuses),
            "send_wall_s": sent.wall_s,
            "expected_deliveries": self.n * len(sent.at),
            "deliveries": len(latencies),
            "missing_deliveries": d.missing,
            "duplicates": self.total("duplicates"),
            "out_of_order": self.total("out_of_order"),
            "reconnects": self.total("reconnects"),
            "ended_by_server": self.total("ended_by_server"),
            "errors": self.errors(),
            "latency_p50_s": percentile(latencies, 0.50),
            "latency_p99_s": percentile(latencies, 0.99),
            "latency_max_s": latencies[-1] if latencies else float("nan"),
            "fanout_complete_p50_s": percentile(d.completion, 0.50),
            "fanout_complete_p99_s": percentile(d.completion, 0.99),
            "post_p50_s": percentile(sent.post_lat, 0.50),
            "post_p99_s": percentile(sent.post_lat, 0.99),
            "delivery_span_s": span,
            "deliveries_per_s": len(latencies) / span if span and span == span else float("nan"),
            "connect_p50_s": percentile(connect_lat, 0.50),
            "connect_p99_s": percentile(connect_lat, 0.99),
            "server_metrics": metrics,
            "per_message": d.per_message,
        }


class ServerDied(Exception):
    def __init__(self, bench: Bench, when: str) -> None:
        self.bench = bench
        self.when = when
        super().__init__(when)


def scan_log(path: Path) -> dict[str, Any]:
    """Tracebacks and error lines in the server log, for the summary."""
    if not path.exists():
        return {}
    text = path.read_text(errors="replace")
    errs = [
        line
        for line in text.splitlines()
        if "Traceback" in line or "Error" in line or "error" in line.lower()[:40]
    ]
    return {
        "tracebacks": text.count("Traceback"),
        "error_lines": len(errs),
        "first_errors": errs[:5],
    }


def parse_metrics(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("kehai_events_") or line.startswith("kehai_open_streams"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


# ---------------------------------------------------------------------------------------------
# output


def summary(r: dict[str, Any]) -> str:
    def ms(key: str) -> str:
        v = r.get(key)
        return "n/a" if v is None or v != v else f"{v * 1000:,.1f} ms"

    def s(key: str) -> str:
        v = r.get(key)
        return "n/a" if v is None or v != v else f"{v:,.2f} s"

    mode = (
        f"steady {r['rate']:g} msg/s"
        if r["rate"]
        else f"saturation (concurrency {r.get('concurrency', 1)})"
    )
    rows = [
        ("streams (users)", f"{r['streams']:,}  opened {r.get('opened', 0):,}"),
        ("server workers", str(r["workers"])),
        ("messages sent", f"{r.get('sent', 0)}/{r['messages']}  ({mode})"),
        ("connect: all streams open", s("connect_s")),
        ("connect: per stream p50 / p99", f"{ms('connect_p50_s')} / {ms('connect_p99_s')}"),
        (
            "presence frames while connecting",
            f"{r.get('presence_frames', 0):,}  (quiet {s('settle_s')} after the last open"
            f"{'' if r.get('settled') else ', NOT settled'})",
        ),
        ("delivery latency p50", ms("latency_p50_s")),
        ("delivery latency p99", ms("latency_p99_s")),
        ("delivery latency max", ms("latency_max_s")),
        (
            "whole fan-out done p50 / p99",
            f"{ms('fanout_complete_p50_s')} / {ms('fanout_complete_p99_s')}",
        ),
        ("POST /messages p50 / p99", f"{ms('post_p50_s')} / {ms('post_p99_s')}"),
        (
            "deliveries",
            f"{r.get('deliveries', 0):,} of {r.get('expected_deliveries', 0):,}"
            f"  (missing {r.get('missing_deliveries', 0):,}, dup {r.get('duplicates', 0)},"
            f" out of id order {r.get('out_of_order', 0):,})",
        ),
        (
            "deliveries/s",
            f"{r.get('deliveries_per_s', float('nan')):,.0f}  over {s('delivery_span_s')}",
        ),
        (
            "server memory per stream",
            f"{r.get('server_mem_per_stream', 0) / 1024:,.1f} KiB"
            f"  (settled: {r.get('server_mem_per_stream_settled', 0) / 1024:,.1f} KiB)",
        ),
        (
            "server RSS before/open/settled/end",
            " / ".join(
                mib(r.get(k, 0))
                for k in (
                    "server_rss_before",
                    "server_rss_after_open",
                    "server_rss_settled",
                    "server_rss_after_send",
                )
            ),
        ),
        (
            "server CPU connect/settle/send",
            " / ".join(
                s(k) for k in ("server_cpu_connect_s", "server_cpu_settle_s", "server_cpu_send_s")
            ),
        ),
        (
            "client CPU connect/settle/send",
            " / ".join(
                s(k) for k in ("client_cpu_connect_s", "client_cpu_settle_s", "client_cpu_send_s")
            ),
        ),
        (
            "other CPU on machine c/s/s",
            " / ".join(
                s(k) for k in ("other_cpu_connect_s", "other_cpu_settle_s", "other_cpu_send_s")
            )
            + "  (other processes: noise)",
        ),
        (
            "reconnects / ended by server",
            f"{r.get('reconnects', 0)} / {r.get('ended_by_server', 0)}",
        ),
        ("client errors", json.dumps(r.get("errors", {})) or "{}"),
        (
            "server log",
            f"{r.get('server_log')}  ({r.get('server_log_errors', {}).get('tracebacks', 0)}"
            f" tracebacks)",
        ),
    ]
    if r.get("gc_tracked_open") and r.get("gc_tracked_before") is not None:
        per = (r["gc_tracked_open"] - r["gc_tracked_before"]) / max(r.get("opened", 1), 1)
        rows.append(
            (
                "GC-tracked objects in server",
                f"{r['gc_tracked_before']:,} before, {r['gc_tracked_open']:,} with all open"
                f" ({per:,.0f} per stream)",
            )
        )
    for phase in ("connect", "send"):
        g = r.get(f"gc_{phase}")
        if g:
            rows.append(
                (
                    f"server full GCs during {phase}",
                    f"{g['full_collections']} taking {g['full_total_s']:.2f} s, longest"
                    f" {g['full_max_s'] * 1000:,.0f} ms (all GC {g['all_total_s']:.2f} s)",
                )
            )
    width = max(len(k) for k, _ in rows)
    line = "-" * (width + 50)
    out = [line, "Kehai fan-out benchmark", line]
    out += [f"{k:<{width}}  {v}" for k, v in rows]
    out.append(line)
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--streams", type=int, default=1000, help="open streams = users = members")
    p.add_argument("--messages", type=int, default=50, help="messages to POST")
    p.add_argument(
        "--rate",
        type=float,
        default=0,
        help="messages per second; 0 = as fast as possible (closed loop)",
    )
    p.add_argument(
        "--concurrency", type=int, default=1, help="POSTs in flight at once when --rate 0"
    )
    p.add_argument(
        "--workers", type=int, default=1, help="server processes (run.py --workers; > 1 uses Redis)"
    )
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument(
        "--client-procs",
        type=int,
        default=0,
        help="client processes holding the streams (0 = 1, or 2 from 5,000 streams)",
    )
    p.add_argument(
        "--connect-concurrency",
        type=int,
        default=64,
        help="streams being opened at once (Hypercorn's listen backlog is 100)",
    )
    p.add_argument("--connect-timeout", type=float, default=600)
    p.add_argument(
        "--settle-timeout",
        type=float,
        default=600,
        help="longest wait for the presence announcements to die down",
    )
    p.add_argument(
        "--settle-quiet",
        type=float,
        default=2.0,
        help="settled = no frames and an idle server for this long",
    )
    p.add_argument(
        "--deliver-timeout",
        type=float,
        default=60,
        help="give up waiting for deliveries after this long without progress",
    )
    p.add_argument("--body", type=int, default=40, help="extra characters per message body")
    p.add_argument("--tuning", help="extra KEHAI_TUNING overrides (JSON)")
    p.add_argument("--instance", help="instance directory (default: a new temp dir)")
    p.add_argument("--server-log", help="server stdout/stderr file (default <instance>/server.log)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument(
        "--app-root",
        help="checkout whose run.py and app/ are benchmarked (default: this repository)",
    )
    p.add_argument("--profile", help="record py-spy profiles of the server into this directory")
    p.add_argument(
        "--gc-stats",
        action="store_true",
        help="run the server under bench/_gcwrap.py to record garbage-collector pauses",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    args = p.parse_args(argv)
    if args.client_procs <= 0:
        args.client_procs = 2 if args.streams >= 5000 else 1
    if args.streams < 1 or args.messages < 1:
        p.error("--streams and --messages must be positive")
    return args


def use_app_root(path: str | None) -> None:
    """Benchmark the app of another checkout (default: the one this file lives in)."""
    global ROOT
    if path:
        ROOT = Path(path).resolve()
        if not (ROOT / "run.py").exists():
            raise SystemExit(f"fanout: no run.py in {ROOT}")
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_app_root(args.app_root)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    bench = Bench(args)
    bench.result["concurrency"] = args.concurrency
    code = 0
    try:
        seeded, fd_limit = bench.prepare()
        try:
            result = asyncio.run(bench.measure(seeded, fd_limit))
        finally:
            bench.teardown()
    except ServerDied as died:
        result = died.bench.result
        result["failure"] = f"the server process died {died.when}"
        code = 2
    except KeyboardInterrupt:
        result = bench.result
        result["failure"] = "interrupted"
        code = 130
    print(summary(result), flush=True)
    if "failure" in result:
        print(f"FAILED: {result['failure']}; see {result.get('server_log')}", flush=True)
        errs = result.get("server_log_errors", {}).get("first_errors")
        if errs:
            print("\n".join(errs))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
