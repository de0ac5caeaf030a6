#!/usr/bin/env python
"""Dashboard benchmark: GET /dashboard over N people, some of them online; p50/p99 per page.

    python bench/dashboard.py [--users 10000] [--online 200] [--requests 40] [--json out.json]

1. Seeds a fresh instance straight through the app's models (as bench/fanout.py does): N users
   named "Test User 1" .. "Test User N" (natural order matters), half with a stored last
   seen, one operator, and a session for the operator and for each of the first `--online`.
2. Starts `python run.py` on a free port and opens one stream for each of those (they are
   online: the list puts them first), then waits for the presence batches to settle.
3. Times `--requests` sequential GETs of each page below (the whole list ordered and filtered
   in the server, one page of 50 rendered) and prints p50/p99 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fanout import free_port, percentile  # noqa: E402  (the same helpers)


def pages(users: int) -> tuple[str, ...]:
    """The first page, one in the middle (of everyone, and of the offline), a filter, a
    search, and the table alone (what a live re-fetch asks for)."""
    middle = max(1, users // 100)  # 50 a page
    return ("/dashboard", f"/dashboard?page={middle}", "/dashboard?status=online",
            f"/dashboard?status=offline&page={max(1, middle // 2)}", "/dashboard?q=user+12",
            "/dashboard/table")


def seed(instance: Path, n: int, online: int, secret_key: str) -> list[str]:
    """The people, then signed session cookies: the operator's first, then the online ones."""
    from quart import Quart
    from quart.sessions import SecureCookieSessionInterface

    from app import db
    from app.migrate import apply_pending
    from app.models import Session, User, UserStatus
    from app.models.base import utcnow

    database = db.init(f"sqlite:///{instance / 'kehai.sqlite3'}", threads=1)
    apply_pending(database)
    now, batch = utcnow(), 500
    with database.connection_context(), database.atomic():
        rows = [{"username": f"u{i}", "display_name": f"Test User {i}", "password_hash": "x",
                 "role": "operator" if i == 0 else "member", "created": now}
                for i in range(n)]
        for start in range(0, n, batch):
            User.insert_many(rows[start:start + batch]).execute()
        ids = [u.id for u in User.select(User.id).order_by(User.id)]
        seen = [{"user": uid, "is_online": False, "last_seen": now - timedelta(minutes=i)}
                for i, uid in enumerate(ids) if i % 2]
        for start in range(0, len(seen), batch):
            UserStatus.insert_many(seen[start:start + batch]).execute()
        sids = [secrets.token_urlsafe(32) for _ in range(online + 1)]
        Session.insert_many([{"id": sid, "user": uid, "created": now}
                             for sid, uid in zip(sids, ids, strict=False)]).execute()
    db.shutdown()
    app = Quart("kehai-bench")
    app.config["SECRET_KEY"] = secret_key
    signer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert signer is not None
    return [signer.dumps({"sid": sid, "csrf": secrets.token_urlsafe(16), "_permanent": True})
            for sid in sids]


def start_server(instance: Path, port: int, secret_key: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KEHAI_INSTANCE_DIR": str(instance), "KEHAI_PORT": str(port),
           "KEHAI_SECRET_KEY": secret_key,
           "KEHAI_TUNING": json.dumps({"stream_limit": [100000, 60]})}
    log = open(instance / "server.log", "ab")  # the child holds it
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py")], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit((instance / "server.log").read_text()[-2000:])


async def hold_streams(base: str, cookies: list[str], ready: asyncio.Event) -> None:
    """One open stream per cookie, until cancelled."""
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=None),
                                 limits=httpx.Limits(max_connections=len(cookies) + 1)) as c:
        async def one(cookie: str) -> None:
            async with c.stream("GET", "/sse", cookies={"kehai_session": cookie}) as r:
                async for _chunk in r.aiter_bytes():
                    pass

        tasks = [asyncio.create_task(one(k)) for k in cookies]
        ready.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks)


async def time_pages(base: str, cookie: str, users: int, requests: int
                     ) -> dict[str, dict[str, float]]:
    out = {}
    async with httpx.AsyncClient(base_url=base, cookies={"kehai_session": cookie},
                                 timeout=30) as client:
        for path in pages(users):
            r = await client.get(path)
            assert r.status_code == 200 and r.text.count("<tr data-user=") > 0, (path, r.text[:300])
            took = []
            for _ in range(requests):
                began = time.perf_counter()
                await client.get(path)
                took.append((time.perf_counter() - began) * 1000)
            took.sort()
            out[path] = {"p50_ms": percentile(took, 0.5), "p99_ms": percentile(took, 0.99)}
    return out


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    instance = Path(args.instance or tempfile.mkdtemp(prefix="kehai-dash-"))
    secret_key = secrets.token_urlsafe(32)
    cookies = seed(instance, args.users, args.online, secret_key)
    port = free_port()
    proc = start_server(instance, port, secret_key)
    base = f"http://127.0.0.1:{port}"
    ready = asyncio.Event()
    holder = asyncio.create_task(hold_streams(base, cookies[1:], ready))
    try:
        await ready.wait()
        await asyncio.sleep(args.settle)
        timed = await time_pages(base, cookies[0], args.users, args.requests)
    finally:
        holder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await holder
        proc.terminate()
        proc.wait(30)
    return {"users": args.users, "online": args.online, "requests": args.requests,
            "pages": timed}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--online", type=int, default=200)
    p.add_argument("--requests", type=int, default=40)
    p.add_argument("--settle", type=float, default=3.0, help="seconds after the streams open")
    p.add_argument("--instance", help="instance directory (default: a new temp dir)")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    result = asyncio.run(bench(args))
    print(f"GET /dashboard, {args.users:,} people, {args.online} online, "
          f"{args.requests} requests each")
    for path, f in result["pages"].items():
        print(f"  {path:<36} p50 {f['p50_ms']:7.1f} ms   p99 {f['p99_ms']:7.1f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
