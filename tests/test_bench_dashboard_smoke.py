"""The dashboard benchmark runs end to end on a tiny scale (figures only, no timing asserts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_dashboard_bench_runs(tmp_path: Path) -> None:
    out = tmp_path / "dashboard.json"
    instance = tmp_path / "instance"
    instance.mkdir()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dashboard.py"), "--users", "120", "--online", "5",
         "--requests", "2", "--settle", "0.5", "--instance", str(instance), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["users"] == 120 and set(figures["pages"]) >= {"/dashboard", "/dashboard/table"}
    assert all(f["p50_ms"] > 0 for f in figures["pages"].values())
