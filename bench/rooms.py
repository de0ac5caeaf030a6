#!/usr/bin/env python
"""Many small rooms: the message path, not fan-out. U users in rooms of R, every user holding a
stream, S of them sending through the real POST route, closed loop then open loop at a fixed rate.

    python bench/rooms.py [--users 2000] [--room-size 5] [--senders 200] [--messages 4000]
                          [--rate 200] [--rate-seconds 10] [--quick] [--json out.json]

Figures per phase: messages/s, POST p50/p99, delivery p50/p99 (every member's stream, the
sender's own included) and server CPU per message (the server process's utime + stime from
/proc, before and after). The server is pinned to CPU 0 and this client to CPU 1 when the
machine has two (taskset). Seeding, cookies, the server process and the SSE client are
bench/fanout.py's; only the room layout and the sending loops are this file's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fanout
from fanout import Client, ServerProcess, cpu_seconds, free_port, percentile

SENT_ID = fanout.SENT_ID


# ---------------------------------------------------------------------------------------------
# seeding: fanout's users, sessions and cookies, regrouped into small rooms


def seed_rooms(instance: Path, users: int, room_size: int, secret_key: str) -> dict[str, Any]:
    """Users and cookies from fanout.seed; its one big room replaced by rooms of `room_size`."""
    seeded = fanout.seed(instance, users, secret_key)
    from app import db
    from app.models import GROUP, Conversation, Membership
    from app.models.base import utcnow

    database = db.init(f"sqlite:///{instance / 'kehai.sqlite3'}", threads=1)
    now = utcnow()
    ids = seeded["user_ids"]
    rooms: list[int] = []  # room id by room index
    with database.connection_context(), database.atomic():
        Membership.delete().where(Membership.conversation == seeded["conversation_id"]).execute()
        Conversation.delete().where(Conversation.id == seeded["conversation_id"]).execute()
        for r in range(0, len(ids), room_size):
            room = Conversation.create(kind=GROUP, title=f"Room {r // room_size}", created=now,
                                       last_activity=now)
            Membership.insert_many([{"user": uid, "conversation": room.id, "joined": now}
                                    for uid in ids[r:r + room_size]]).execute()
            rooms.append(room.id)
    db.shutdown()
    seeded["rooms"] = rooms
    return seeded


# ---------------------------------------------------------------------------------------------
# the sender: raw HTTP/1.1 keep-alive POSTs (httpx costs more client CPU than the server spends)


class NoPipe:
    """fanout.Client reports to a parent over a pipe; here the client is the parent."""

    def send(self, _message: Any) -> None:
        pass


class Sender:
    """One user's keep-alive connection; `post` returns (status, body)."""

    def __init__(self, host: str, port: int, cookie: str, csrf: str) -> None:
        self.host, self.port = host, port
        self.head = (f"Host: {host}:{port}\r\nCookie: kehai_session={cookie}\r\n"
                     f"X-CSRF-Token: {csrf}\r\nHX-Request: true\r\nAccept-Language: en\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n")
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, bytes]:
        """One POST; a kept-alive connection the server has closed since is opened again and
        the POST repeated (safe: the client_id makes it idempotent)."""
        fresh = self.writer is None or self.writer.is_closing()
        try:
            return await self._post(path, form, fresh)
        except (OSError, asyncio.IncompleteReadError):
            if fresh:
                raise
            self.close()
            return await self._post(path, form, True)

    async def _post(self, path: str, form: dict[str, str], fresh: bool) -> tuple[int, bytes]:
        if fresh:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None and self.writer is not None
        body = urlencode(form).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}"
                          "\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")
            return status, b"".join(parts)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


@dataclass
class Phase:
    """One sending phase: what was sent when, and how the POSTs went."""

    name: str
    at: dict[int, float] = field(default_factory=dict)  # message id -> send time
    post_lat: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    wall_s: float = 0.0


# ---------------------------------------------------------------------------------------------
# the run


def pin(pid: int, cpu: int, all_threads: bool = True) -> bool:
    """taskset the process (and its threads) to one CPU, if the machine has two and taskset."""
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        return False
    cmd = ["taskset", "-a", "-pc", str(cpu), str(pid)] if all_threads else \
        ["taskset", "-pc", str(cpu), str(pid)]
    return subprocess.run(cmd, capture_output=True).returncode == 0


class Rooms:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.result: dict[str, Any] = {k: getattr(args, k) for k in
                                       ("users", "room_size", "senders", "messages", "rate",
                                        "rate_seconds")}
        self.server: ServerProcess | None = None
        self.client: Client | None = None
        self.seeded: dict[str, Any] = {}
        self.room_of: dict[int, int] = {}  # user index -> room id

    def log(self, text: str) -> None:
        if not self.args.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def prepare(self) -> None:
        a = self.args
        instance = Path(a.instance or tempfile.mkdtemp(prefix="kehai-rooms-"))
        instance.mkdir(parents=True, exist_ok=True)
        secret_key = secrets.token_hex(32)
        t0 = time.monotonic()
        self.seeded = seed_rooms(instance, a.users, a.room_size, secret_key)
        rooms = self.seeded["rooms"]
        self.room_of = {i: rooms[i // a.room_size] for i in range(a.users)}
        self.log(f"seeded {a.users} users in {len(rooms)} rooms in {time.monotonic() - t0:.1f} s")
        fanout.raise_fd_limit(a.users + a.senders * 4 + 256)
        tuning = {"message_limit": [1_000_000, 1], **json.loads(a.tuning or "{}")}
        log = instance / "server.log"
        self.server = ServerProcess(instance, a.port or free_port(), 1, tuning, secret_key, log)
        self.server.start(60)
        self.result["pinned"] = pin(self.server.pid, 0) and pin(os.getpid(), 1)
        self.result["server_log"] = str(log)

    async def open_streams(self) -> None:
        a, server = self.args, self.server
        assert server is not None
        cookies = list(enumerate(self.seeded["cookies"]))
        self.client = client = Client(NoPipe(), "127.0.0.1", server.port, cookies, 100)
        loop = asyncio.get_running_loop()
        client.tasks = [loop.create_task(client.hold(s)) for s in client.streams]
        t0 = time.monotonic()
        while client.stats["opened"] < a.users:
            if time.monotonic() - t0 > a.connect_timeout:
                raise SystemExit(f"rooms: only {client.stats['opened']}/{a.users} streams opened"
                                 f" ({dict(client.errors)})")
            await asyncio.sleep(0.1)
        self.result["connect_s"] = time.monotonic() - t0
        self.log(f"{a.users} streams open in {self.result['connect_s']:.1f} s")
        await asyncio.sleep(a.settle)  # presence announcements of 2,000 arrivals die down

    def senders(self) -> list[int]:
        """User indexes of the senders: spread over the rooms, one per room first."""
        a = self.args
        order = [i for k in range(a.room_size) for i in range(k, a.users, a.room_size)]
        return order[: a.senders]

    def make_sender(self, i: int) -> Sender:
        assert self.server is not None
        return Sender("127.0.0.1", self.server.port, self.seeded["cookies"][i],
                      self.seeded["csrf"][i])

    async def post(self, sender: Sender, i: int, n: int, phase: Phase) -> None:
        t0 = time.monotonic()
        try:
            status, body = await sender.post(
                f"/c/{self.room_of[i]}/messages",
                {"body": f"room message {phase.name} {n} " + "x" * self.args.body,
                 "client_id": f"{phase.name}-{n}"})
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            phase.statuses[-1] = phase.statuses.get(-1, 0) + 1
            sender.close()
            self.log(f"POST {n} failed: {exc!r}")
            return
        phase.post_lat.append(time.monotonic() - t0)
        phase.statuses[status] = phase.statuses.get(status, 0) + 1
        found = SENT_ID.search(body.decode(errors="replace"))
        if status == 201 and found:
            phase.at[int(found.group(1))] = t0

    async def closed_loop(self) -> Phase:
        """Every sender POSTs its next message as soon as the last one was answered."""
        phase, counter = Phase("closed"), iter(range(self.args.messages))

        async def run(i: int) -> None:
            sender = self.make_sender(i)
            for n in counter:
                await self.post(sender, i, n, phase)
            sender.close()

        t0 = time.monotonic()
        await asyncio.gather(*(run(i) for i in self.senders()))
        phase.wall_s = time.monotonic() - t0
        return phase

    async def open_loop(self) -> Phase:
        """--rate messages/s on the clock from randomly chosen senders, answered or not."""
        a, phase = self.args, Phase("open")
        idle: dict[int, list[Sender]] = {i: [] for i in self.senders()}
        who = list(idle)

        async def one(n: int) -> None:
            i = random.choice(who)
            sender = idle[i].pop() if idle[i] else self.make_sender(i)
            await self.post(sender, i, n, phase)
            idle[i].append(sender)

        total, tasks, t0 = int(a.rate * a.rate_seconds), [], time.monotonic()
        for n in range(total):
            delay = t0 + n / a.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
        phase.wall_s = time.monotonic() - t0
        for pool in idle.values():
            for sender in pool:
                sender.close()
        return phase

    async def measure(self, phase_fn: Any) -> dict[str, Any]:
        """One phase: CPU before/after, then wait for every member's delivery."""
        assert self.server is not None and self.client is not None
        client = self.client
        cpu0, d0 = cpu_seconds([self.server.pid]), client.stats["deliveries"]
        profiler = fanout.Profiler(Path(self.args.profile) if self.args.profile else None,
                                   self.server.pid)
        profiler.start(phase_fn.__name__)
        phase: Phase = await phase_fn()
        profiler.stop()
        expected = len(phase.at) * self.args.room_size
        t_wait, best = time.monotonic(), -1
        while (got := client.stats["deliveries"] - d0) < expected:
            if got > best:
                best, t_wait = got, time.monotonic()
            elif time.monotonic() - t_wait > self.args.deliver_timeout:
                break
            await asyncio.sleep(0.05)
        cpu = cpu_seconds([self.server.pid]) - cpu0
        return self.figures(phase, cpu, expected)

    def figures(self, phase: Phase, cpu: float, expected: int) -> dict[str, Any]:
        assert self.client is not None
        recv = self.client.recv
        delivery, missing = [], 0
        for mid, t0 in phase.at.items():
            times = recv.get(mid, [])
            missing += self.args.room_size - len(times)
            delivery.extend(t - t0 for t in times)
        delivery.sort()
        phase.post_lat.sort()
        sent = len(phase.at)
        return {
            "sent": sent,
            "post_statuses": phase.statuses,
            "wall_s": phase.wall_s,
            "messages_per_s": sent / phase.wall_s if phase.wall_s else float("nan"),
            "post_p50_ms": percentile(phase.post_lat, 0.50) * 1000,
            "post_p99_ms": percentile(phase.post_lat, 0.99) * 1000,
            "delivery_p50_ms": percentile(delivery, 0.50) * 1000,
            "delivery_p99_ms": percentile(delivery, 0.99) * 1000,
            "expected_deliveries": expected,
            "deliveries": len(delivery),
            "missing_deliveries": missing,
            "server_cpu_s": cpu,
            "server_cpu_ms_per_message": cpu / sent * 1000 if sent else float("nan"),
            "load_average": os.getloadavg()[0],
        }

    async def run(self) -> dict[str, Any]:
        await self.open_streams()
        self.log(f"closed loop: {self.args.senders} senders, {self.args.messages} messages")
        self.result["closed"] = await self.measure(self.closed_loop)
        self.log(summary_line("closed loop", self.result["closed"]))
        self.log(f"open loop: {self.args.rate:g} messages/s for {self.args.rate_seconds:g} s")
        self.result["open"] = await self.measure(self.open_loop)
        self.log(summary_line("open loop", self.result["open"]))
        self.result["duplicates"] = self.client.stats["duplicates"] if self.client else 0
        self.result["stream_errors"] = dict(self.client.errors) if self.client else {}
        if self.client is not None:
            await self.client.stop(None)
        return self.result

    def teardown(self) -> None:
        if self.server is not None:
            self.server.stop()


def summary_line(name: str, f: dict[str, Any]) -> str:
    return (f"{name}: {f['messages_per_s']:,.0f} messages/s, POST p50 {f['post_p50_ms']:.1f} ms"
            f" p99 {f['post_p99_ms']:.1f} ms, delivery p50 {f['delivery_p50_ms']:.1f} ms"
            f" p99 {f['delivery_p99_ms']:.1f} ms, server CPU {f['server_cpu_ms_per_message']:.2f}"
            f" ms/message, deliveries {f['deliveries']}/{f['expected_deliveries']}"
            f" (missing {f['missing_deliveries']}), load {f['load_average']:.2f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--users", type=int, default=2000, help="users = open streams")
    p.add_argument("--room-size", type=int, default=5)
    p.add_argument("--senders", type=int, default=200, help="concurrent senders (closed loop)")
    p.add_argument("--messages", type=int, default=4000, help="messages in the closed loop")
    p.add_argument("--rate", type=float, default=200, help="open loop: messages/s offered")
    p.add_argument("--rate-seconds", type=float, default=10, help="open loop: how long")
    p.add_argument("--body", type=int, default=40, help="extra characters per message body")
    p.add_argument("--settle", type=float, default=3.0, help="seconds after connecting")
    p.add_argument("--connect-timeout", type=float, default=120)
    p.add_argument("--deliver-timeout", type=float, default=10,
                   help="give up waiting for deliveries after this long without progress")
    p.add_argument("--tuning", help="extra KEHAI_TUNING overrides (JSON)")
    p.add_argument("--instance", help="instance directory (default: a new temp dir)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--profile", help="record py-spy profiles (raw) of the server, per phase,"
                   " into this directory")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes (20 users, 4 senders, 40 + 20 messages): does it work")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.users, args.senders, args.messages = 20, 4, 40
        args.rate, args.rate_seconds, args.settle = 20, 1, 0.5
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fanout.use_app_root(None)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    bench = Rooms(args)
    try:
        bench.prepare()
        result = asyncio.run(bench.run())
    finally:
        bench.teardown()
    for name in ("closed", "open"):
        print(summary_line(f"{name} loop", result[name]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
