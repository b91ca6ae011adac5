"""The regional load driver at a tiny scale: every service as a process, its checks hold.

The full run (20 facilities, 20,000 people, a year) is `sinergi prove load`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.infra import postgres_available

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 240


def test_the_regional_load_driver_runs_a_small_region_and_every_check_holds(
    tmp_path: Path,
) -> None:
    result = tmp_path / "regional.json"
    database = "postgresql" if postgres_available() else "sqlite"
    command = [
        sys.executable, "-m", "bench.regional", "--facilities", "2", "--people", "200",
        "--months", "1", "--rates", "20", "--stage-seconds", "5", "--database", database,
        "--backlog", "200", "--json", str(result), "--workdir", str(tmp_path / "services"),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    summary = json.loads(result.read_text())
    counts = summary["counts"]
    assert summary["problems"] == []
    assert counts["people admitted"] == 200
    assert counts["agreements"] == 16 and counts["sessions"] > 0 and counts["sales"] == 2
    assert summary["admission_ms"]["count"] == 200
    assert summary["realisation_ms"]["count"] == counts["sessions"]
    assert all(stats["failures"] == 0 for stats in summary["commands"].values())
    assert summary["commands"]["hold session"]["count"] == counts["sessions"]
    assert summary["raw"]["consume_per_s"] > 0
    assert all(summary["rss_peak_kib"][name] > 0 for name in ("agreements", "identity", "programs"))
    assert any(name.endswith("on sinergi.identity") for name in summary["consumers"])
    assert summary["backlog"]["entries"] == 200 and summary["backlog"]["per_s"] > 0
