"""The many-small-rooms benchmark runs end to end on a tiny scale (figures only, no timing
asserts): every phase produces its figures and every member's stream gets every message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_rooms_bench_runs(tmp_path: Path) -> None:
    out = tmp_path / "rooms.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "rooms.py"), "--quick", "--quiet",
         "--instance", str(tmp_path / "instance"), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "closed loop:" in proc.stdout and "open loop:" in proc.stdout, proc.stdout
    figures = json.loads(out.read_text())
    assert figures["duplicates"] == 0
    for phase, sent in (("closed", 40), ("open", 20)):
        f = figures[phase]
        assert f["sent"] == sent, f
        assert f["deliveries"] == f["expected_deliveries"] == sent * 5
        assert f["missing_deliveries"] == 0
        for key in ("messages_per_s", "post_p50_ms", "post_p99_ms", "delivery_p50_ms",
                    "delivery_p99_ms", "server_cpu_ms_per_message"):
            assert f[key] > 0, (key, f)
