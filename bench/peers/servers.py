"""The peers as server processes with bench/fanout.py's ManagedProcess interface.

Every peer serves `GET /sse` (an SSE stream, first frame `retry:`/`data: hello` or nchan's
`: hi`), `POST /publish` (the body to every stream as one event with an `id:`) and
`GET /healthz`, on 127.0.0.1:<port>, one process (nginx: a master and one worker).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from string import Template

from fanout import ManagedProcess

from peers.setup import NCHAN_MODULE, NEXTJS, PEERS, nginx_binary

BENCH = PEERS.parent
NCHAN_TEMPLATE = PEERS / "nchan" / "nginx.conf.template"
# what each peer is, for the report
DESCRIBED = {
    "bare": "bare Quart + Hypercorn (bench/bare.py)",
    "starlette": "Starlette + uvicorn (bench/peers/starlette_app.py)",
    "raw": "raw asyncio (bench/peers/raw_asyncio.py)",
    "nchan": "nginx + nchan (bench/peers/nchan/)",
    "nextjs": "the plain Next.js design (bench/peers/nextjs/)",
}


class PeerServer(ManagedProcess):
    """One peer on a free port, its output in `log`."""

    workers = 1

    def __init__(self, target: str, port: int, log: Path) -> None:
        self.target = target
        self.port = port
        self.log = log
        self.proc = None

    def failure(self, what: str) -> str:
        return f"{self.target}: {super().failure(what)}"

    def command(self) -> tuple[list[str], Path]:
        port = str(self.port)
        if self.target == "bare":
            return [sys.executable, str(BENCH / "bare.py"), "--port", port], BENCH
        if self.target == "starlette":
            return [sys.executable, str(PEERS / "starlette_app.py"), "--port", port], PEERS
        if self.target == "raw":
            return [sys.executable, str(PEERS / "raw_asyncio.py"), "--port", port], PEERS
        if self.target == "nextjs":
            next_bin = NEXTJS / "node_modules" / "next" / "dist" / "bin" / "next"
            return ["node", str(next_bin), "start", "-p", port, "-H", "127.0.0.1"], NEXTJS
        if self.target == "nchan":
            return self.nchan_command(), PEERS
        raise ValueError(f"no such peer: {self.target}")

    def nchan_command(self) -> list[str]:
        """A private nginx: its own prefix (pid, logs, temp dirs) next to the log."""
        prefix = self.log.parent / "nchan"
        prefix.mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(Template(NCHAN_TEMPLATE.read_text()).substitute(
            PREFIX=prefix, PORT=self.port, MODULE=NCHAN_MODULE))
        binary = nginx_binary() or "nginx"
        return [binary, "-c", str(conf), "-p", f"{prefix}/", "-e", str(prefix / "error.log")]

    def start(self, timeout: float = 60.0) -> None:
        cmd, cwd = self.command()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NEXT_TELEMETRY_DISABLED": "1",
               "NODE_ENV": "production"}
        self.launch(cmd, cwd, env, timeout)


def pin(tree: list[int], cpus: set[int]) -> None:
    """Every thread of every process in `tree` (a server and its children) onto `cpus`;
    threads and processes started later inherit it."""
    for p in tree:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(int(tid), cpus)
            except OSError:
                pass
