"""`sinergi demo` end to end, as a user runs it: no SINERGI_* settings, so Redis is embedded."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
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
    # the summary speaks Bahasa Indonesia unless asked otherwise
    assert "8 PKS ditandatangani 2023-03-13 dengan 8 mitra (3 perpanjangan)" in output
    assert "✓ semua angka sesuai" in output
    assert "300 rows imported through /roster/imports (300 imported)" in output
    assert "matching job completed: 270/270 people" in output
    assert "status NIK 300 baris daftar WBP sesuai rencana" in output
    assert "perlu perekaman KTP-el: 36 orang" in output
    assert output.count("/2023 ") >= 8  # the numbers of the 8 agreements in the tables
    # the quarter through the programs API, the partners recording their own sessions
    assert "66 session reports and 3 sales recorded through the programs API" in output
    assert "by dinkes-hst" in output
    assert "by staff" in output
    assert "66 laporan sesi), penjualan 3 bulan" in output
    assert re.search(r"│ jumlah\s+│\s+3 │\s+83 │\s+5\.050\.000 │", output)  # the sales
    assert "Laporan realisasi per bulan (layanan program)" in output
    assert "Mei 2023" in output
    assert re.search(
        r"Pembelajaran kejar\s.*│ sesi\s+│ per sesi\s+│\s+96 │\s+4 │\s+4 │\s+4 │\s+12 │", output
    )
    # the dashboard, built from the streams alone, caught up with the same figures
    assert "16 action plan items, 300 people by NIK status" in output
    assert elapsed < DEMO_BUDGET_S, f"the demo took {elapsed:.1f} s"
    assert (state_dir / "agreements.db").exists()
    assert (state_dir / "agreements.log").read_text().startswith("{")
    assert (state_dir / "identity.db").exists()
    assert "identity service stopped" in (state_dir / "identity.log").read_text()
    assert (state_dir / "programs.db").exists()
    assert "programs service stopped" in (state_dir / "programs.log").read_text()
    assert (state_dir / "roster-barabai.csv").read_text().count("\n") == 301
    assert (state_dir / "dashboard.db").exists()
    assert "dashboard stopped" in (state_dir / "dashboard.log").read_text()
    assert "civil-registry.log" in {p.name for p in state_dir.iterdir()}


def test_the_demo_in_english_leaves_the_services_and_the_dashboard_running(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
    state_dir = tmp_path / "demo"
    options = ["--state-dir", str(state_dir), "--lang", "en", "--keep-running"]
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=2 * DEMO_BUDGET_S,
    )
    output = result.stdout + result.stderr
    pids = [int(pid) for pid in re.findall(r"kill -TERM ([\d ]+)\)", output)[0].split()]
    try:
        assert result.returncode == 0, output
        assert "all figures match" in output
        dashboard = re.search(r"^Dashboard: (http://\S+)$", output, re.MULTILINE)
        staff = re.search(r"^  staff key: (\S+)$", output, re.MULTILINE)
        partner = re.search(r"^  partner key dinkes-hst: (\S+)$", output, re.MULTILINE)
        assert dashboard and staff and partner, output
        page = httpx.get(dashboard[1] + "/nik", headers={"X-API-Key": staff[1]})
        assert page.status_code == 200
        assert 'data-label="Total">300<' in page.text  # in English, as asked
        plans = httpx.get(dashboard[1] + "/action-plans", headers={"X-API-Key": partner[1]})
        assert plans.status_code == 200
        assert {'data-partner="dinkes-hst"'} == set(re.findall(r'data-partner="[^"]+"', plans.text))
    finally:
        services, redis_pid = pids[:-1], pids[-1]  # the embedded Redis is printed last
        _terminate(services)
        _terminate([redis_pid])


def _terminate(pids: list[int], timeout_s: float = 45.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    _wait_gone(pids, timeout_s)


def _wait_gone(pids: list[int], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 0)
                alive.append(pid)
        if not alive:
            return
        time.sleep(0.2)
    raise AssertionError(f"still running after {timeout_s} s: {alive}")


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
