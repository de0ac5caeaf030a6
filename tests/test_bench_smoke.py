"""The fan-out benchmark runs end to end on a tiny scale (figures only, no timing asserts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_fanout_bench_runs(tmp_path: Path) -> None:
    out = tmp_path / "fanout.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fanout.py"),
            "--streams",
            "20",
            "--messages",
            "5",
            "--instance",
            str(tmp_path / "instance"),
            "--json",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for label in (
        "delivery latency p50",
        "delivery latency p99",
        "deliveries/s",
        "server memory per stream",
        "connect: all streams open",
    ):
        assert label in proc.stdout, proc.stdout
    figures = json.loads(out.read_text())
    assert figures["opened"] == 20
    assert figures["sent"] == 5
    assert figures["deliveries"] == 20 * 5
    assert figures["missing_deliveries"] == 0
    assert figures["duplicates"] == 0
