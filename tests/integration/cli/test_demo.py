"""`sinergi demo` end to end, as a user runs it: no SINERGI_* settings, so Redis is embedded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.cli.demo import STATE_MARKER, DemoError, prepare_state_dir

DEMO_BUDGET_S = 60


def test_demo_plays_the_barabai_case(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
    state_dir = tmp_path / "demo"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--state-dir", str(state_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=2 * DEMO_BUDGET_S,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "embedded Redis" in output
    assert "8 agreements signed 2023-03-13" in output
    assert "(3 renewals)" in output
    assert "all figures match" in output
    assert "300 rows imported through /roster/imports (300 imported)" in output
    assert "matching job completed: 270/270 people" in output
    assert "NIK outcomes of 300 roster rows as intended" in output
    assert "needs recording (perlu perekaman KTP-el): 36 people" in output
    assert output.count("/2023 ") >= 8  # the numbers of the 8 agreements in the tables
    assert elapsed < DEMO_BUDGET_S, f"the demo took {elapsed:.1f} s"
    assert (state_dir / "agreements.db").exists()
    assert (state_dir / "agreements.log").read_text().startswith("{")
    assert (state_dir / "identity.db").exists()
    assert "identity service stopped" in (state_dir / "identity.log").read_text()
    assert (state_dir / "roster-barabai.csv").read_text().count("\n") == 301


def test_state_dir_is_recreated_only_when_the_demo_made_it(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    prepare_state_dir(ours)
    (ours / "agreements.db").write_text("old")
    prepare_state_dir(ours)
    assert sorted(p.name for p in ours.iterdir()) == [STATE_MARKER]

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    with pytest.raises(DemoError):
        prepare_state_dir(foreign)
    assert (foreign / "thesis.tex").exists()
