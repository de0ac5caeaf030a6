"""Run `run.py` with the garbage collector's pauses recorded (fanout.py --gc-stats).

    python bench/_gcwrap.py OUT.json /path/to/run.py [run.py arguments...]

The app is not changed: this installs a `gc.callbacks` hook, then runs run.py as __main__ in
the same process. Every 2 s (and at exit) OUT.json gets, per generation, the number of
collections, their total and longest pause, and the last 200 full (gen 2) collections.
Creating OUT.json.count makes it count the objects the collector tracks (`tracked_objects`).
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import runpy
import sys
import threading
import time

out_path, script, *rest = sys.argv[1:]
stats = {str(g): {"count": 0, "total_s": 0.0, "max_s": 0.0} for g in range(3)}
full: list[tuple[float, float, int]] = []  # (monotonic at stop, pause, objects collected)
started = [0.0]


def _hook(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        started[0] = time.perf_counter()
        return
    pause = time.perf_counter() - started[0]
    s = stats[str(info["generation"])]
    s["count"] += 1
    s["total_s"] += pause
    s["max_s"] = max(s["max_s"], pause)
    if info["generation"] == 2:
        full.append((time.monotonic(), pause, info.get("collected", 0)))
        del full[:-200]


def _dump() -> None:
    data = {
        "pid": os.getpid(),
        "at": time.monotonic(),
        "generations": stats,
        "thresholds": gc.get_threshold(),
        "tracked_objects": tracked[0],
        "full_collections": full,
    }
    tmp = out_path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, out_path)


def _loop() -> None:
    request = out_path + ".count"
    last = time.monotonic()
    while True:
        time.sleep(0.1)
        if os.path.exists(request):  # count the objects the collector tracks (a full walk)
            tracked[0] = len(gc.get_objects())
            os.unlink(request)
            _dump()
        elif time.monotonic() - last >= 2:
            last = time.monotonic()
            _dump()


tracked: list[int | None] = [None]
gc.callbacks.append(_hook)
atexit.register(_dump)
threading.Thread(target=_loop, name="gc-stats", daemon=True).start()
sys.argv = [script, *rest]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
runpy.run_path(script, run_name="__main__")
