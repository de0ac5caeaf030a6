"""bench/run.py runs its Python peers end to end on a tiny scale, in one invocation.

Only that they run, get every message to every stream and are reported side by side: no
timing asserts. Starlette + uvicorn come with the `bench` extra; without them the peer is left
out (raw asyncio and bare Quart always run). Next.js and nchan need npm and apt-get, which the
test run never does (bench/peers/setup.py).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def python_peers() -> list[str]:
    have_starlette = all(importlib.util.find_spec(m) for m in ("starlette", "uvicorn"))
    return ["bare", "raw", *(["starlette"] if have_starlette else [])]


def test_the_python_peers_run_beside_each_other(tmp_path: Path) -> None:
    peers = python_peers()
    out = tmp_path / "peers.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--quiet", "--no-setup",
         "--targets", ",".join(["kehai", *peers]), "--scenarios-at", "none",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=150,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Kehai beside bare Quart and the peers" in proc.stdout, proc.stdout
    assert "server CPU per 1,000 deliveries" in proc.stdout, proc.stdout
    runs = json.loads(out.read_text())["runs"]
    assert sorted(r["target"] for r in runs) == sorted(["kehai", *peers])
    kehai = next(r for r in runs if r["target"] == "kehai")
    for r in runs:
        assert "failure" not in r, r.get("failure")
        assert r["opened"] == 20
        assert r["saturation"]["missing"] == 0, r["target"]
        assert r["steady"]["missing"] == 0, r["target"]
        assert r["saturation"]["server_ms_per_1000"] >= 0
        if r["target"] != "kehai":  # the peers send a body the size of Kehai's frame
            assert r["bare_body_bytes"] == kehai["msg_frame_bytes"]
