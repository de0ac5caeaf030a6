"""`run.py --workers N`: several processes sharing one listening socket, joined by Redis;
a worker that dies is restarted while the others serve."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from app import db
from app.config import ROOT, Config
from app.migrate import apply_pending
from app.serving import listening_socket

log = logging.getLogger(__name__)

RESTART_MIN_S = 0.5  # a crash loop backs off to RESTART_MAX_S between attempts
RESTART_MAX_S = 30.0




def serve_workers(config: Config, workers: int) -> int:
    """Apply migrations once, open the socket once, start N workers, stop them together."""
    if not config.redis_url:
        log.error("--workers > 1 needs KEHAI_REDIS_URL (processes share events through Redis)")
        return 2
    database = db.init(config.database_url, 1)
    apply_pending(database)
    db.shutdown()
    sock = listening_socket(config)
    sock.set_inheritable(True)
    fd = sock.fileno()

    # `python -m app.cli` works from a checkout and from an installed package alike.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

    def spawn(n: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--fd", str(fd),
                                 "--worker-index", str(n)], pass_fds=[fd], env=env)

    children = [spawn(n) for n in range(workers)]
    print(f"Kehai is running on http://{config.host}:{config.port} with {workers} workers "
          "(Ctrl+C to stop)", flush=True)
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    _supervise(children, spawn, lambda: stopping)
    sock.close()
    return 0


def _supervise(children: list[subprocess.Popen[bytes]],
               spawn: Callable[[int], subprocess.Popen[bytes]],
               stopping: Callable[[], bool]) -> None:
    """Restart a worker that died, with backoff, while the others serve; its streams resume
    on them (every process shares the event log). Returns once all have exited on a stop."""
    backoff = dict.fromkeys(range(len(children)), RESTART_MIN_S)
    due: dict[int, float] = {}
    while not stopping() or any(c.poll() is None for c in children):
        now = time.monotonic()
        for n, child in enumerate(children):
            if stopping() or child.poll() is None:
                continue
            if n not in due:
                log.warning("worker %d exited (%s); restarting in %.1f s", child.pid,
                            child.returncode, backoff[n])
                due[n] = now + backoff[n]
                backoff[n] = min(backoff[n] * 2, RESTART_MAX_S)
            elif now >= due[n]:
                del due[n]
                children[n] = spawn(n)
        time.sleep(0.2)
