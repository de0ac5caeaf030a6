"""`run.py --workers N`: several processes sharing one listening socket, joined by Redis."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from app import db
from app.config import ROOT, Config
from app.migrate import apply_pending


def serve_workers(config: Config, workers: int) -> int:
    """Apply migrations once, open the socket once, start N workers, stop them together."""
    if not config.redis_url:
        print("error: --workers > 1 needs KEHAI_REDIS_URL (processes share events through "
              "Redis)", file=sys.stderr)
        return 2
    database = db.init(config.database_url, 1)
    apply_pending(database)
    db.shutdown()
    sock = socket.create_server((config.host, config.port), backlog=4096)
    sock.set_inheritable(True)
    fd = sock.fileno()
    children = [
        subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--fd", str(fd)], pass_fds=[fd])
        for _ in range(workers)
    ]
    print(f"Kehai is running on http://{config.host}:{config.port} with {workers} workers "
          "(Ctrl+C to stop)", flush=True)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = 0
    while any(c.poll() is None for c in children):
        for child in children:
            if child.poll() not in (None, 0) and code == 0:
                code = child.returncode or 0
                forward(signal.SIGTERM, None)  # one worker died: stop cleanly, don't limp on
        time.sleep(0.2)
    sock.close()
    return code
