"""bench/run.py (Kehai against the bare broadcaster) runs end to end on a tiny scale.

Only that it runs and prints its ratio table: no timing asserts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_run_smoke(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--quiet", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "figure" in proc.stdout and "kehai/bare" in proc.stdout, proc.stdout
    for label in (
        "connect rate",
        "server memory per stream",
        "deliveries at saturation",
        "fan-out latency p50",
        "fan-out latency p99",
        "typing storm",
        "reconnect storm",
        "two workers + Redis",
    ):
        assert label in proc.stdout, proc.stdout
    runs = json.loads(out.read_text())["runs"]
    assert {r["target"] for r in runs} == {"kehai", "bare", "kehai-2w"}
    for r in runs:
        assert "failure" not in r, r.get("failure")
        assert r["opened"] == 20
        assert r["saturation"]["missing"] == 0
    kehai = next(r for r in runs if r["target"] == "kehai")
    assert kehai["reconnect"]["missing_all"] == 0
    assert kehai["reconnect"]["duplicates"] == 0
