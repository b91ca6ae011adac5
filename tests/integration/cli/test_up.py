"""`sinergi up` as a user runs it: embedded Redis, SQLite, every service; then the tools
that talk to it (`import`, `report`, `rebuild`), then SIGTERM and a clean exit."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from services.cli.main import app
from services.cli.up import RUNNING_FILE

READY_BUDGET_S = 150.0
STOP_BUDGET_S = 60.0
HEADER = "register_number,name,sex,birth_place,birth_date,mother_name,admission_date,category\n"
GOOD_ROWS = (
    "B.I-701/2024,Ahmad Rizani,L,Barabai,1990-04-12,Siti Aminah,2024-01-10,B.I\n"
    "B.I-702/2024,Muhammad Fauzi,L,Kandangan,12-08-1987,Rahmah,2024-02-03,B.I\n"
)
REFUSED_ROW = "B.I-703/2024,Nor Hasanah,X,Barabai,1995-01-01,Siti,2024-02-04,B.I\n"

runner = CliRunner()


@dataclass
class Up:
    process: subprocess.Popen[bytes]
    state_dir: Path
    output: Path

    def running(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / RUNNING_FILE).read_text())
        return data

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has yet to read its status.
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "\nState:\tZ" not in status.read_text()


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    root = tmp_path_factory.mktemp("up")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
    output = root / "up.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            # Free ports (--port 0): parallel runs on one machine stay apart.
            [
                sys.executable,
                "-m",
                "services.cli",
                "up",
                "--state-dir",
                str(root / "state"),
                "--port",
                "0",
            ],
            env=env | {"COLUMNS": "200"},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = Up(process, root / "state", output)
    try:
        deadline = time.monotonic() + READY_BUDGET_S
        while not (running.state_dir / RUNNING_FILE).exists():
            assert process.poll() is None, running.text()
            assert time.monotonic() < deadline, f"not ready in {READY_BUDGET_S} s\n{running.text()}"
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_every_service_of_the_topology_answers_ready(up: Up) -> None:
    services = up.running()["services"]
    assert {"agreements", "identity", "programs", "civil-registry"} <= services.keys()
    for name, service in services.items():
        response = httpx.get(service["url"] + "/health/ready", timeout=5)
        assert response.status_code == 200, (name, response.text)
        assert alive(service["pid"])
    output = up.text()
    assert "embedded Redis" in output
    assert "agreements     | " in output  # the coloured prefix, as plain text in a file
    assert "export SINERGI_STAFF_KEY=" in output
    assert (up.state_dir / "identity.log").read_text().startswith("{")


def test_a_roster_with_a_refused_row_is_imported_and_the_command_fails(
    up: Up, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + GOOD_ROWS + REFUSED_ROW)
    code, output = cli("import", str(roster), "--state-dir", str(up.state_dir))
    assert code == 1, output
    assert "imported" in output and "refused" in output
    # The refused row's spreadsheet number (the header is row 1) and its reason.
    assert re.search(r"\b4\b[^\n]*use L or P", output), output


def test_a_clean_roster_exits_zero_and_a_refused_one_can_be_allowed(up: Up, tmp_path: Path) -> None:
    roster = tmp_path / "clean.csv"
    roster.write_text(HEADER + GOOD_ROWS.replace("B.I-70", "B.I-80"))
    code, output = cli("import", str(roster), "--state-dir", str(up.state_dir))
    assert code == 0, output
    refused = tmp_path / "refused.csv"
    refused.write_text(HEADER + REFUSED_ROW.replace("B.I-703", "B.I-803"))
    allowed = cli("import", str(refused), "--state-dir", str(up.state_dir), "--allow-refused")
    assert allowed[0] == 0, allowed[1]


def test_the_realisation_report_comes_as_json_csv_and_xlsx(up: Up, tmp_path: Path) -> None:
    state = ("--state-dir", str(up.state_dir))
    code, output = cli("report", "realisation", *state)
    assert code == 0, output
    assert "Realisation (0 action-plan items)" in output
    csv_file, xlsx_file = tmp_path / "r.csv", tmp_path / "r.xlsx"
    code, output = cli("report", "realisation", "--format", "csv", "--out", str(csv_file), *state)
    assert code == 0, output
    assert csv_file.read_text(encoding="utf-8-sig").splitlines()[0].count(",") >= 5
    code, output = cli("report", "realisation", "--format", "xlsx", "--out", str(xlsx_file), *state)
    assert code == 0, output
    sheet = load_workbook(xlsx_file).active
    assert sheet is not None and sheet.max_row == 1  # the header row only


def test_the_usage_report_comes_as_a_table_and_as_csv(up: Up, tmp_path: Path) -> None:
    state = ("--state-dir", str(up.state_dir))
    period = ("--from", "2024-01-01", "--to", "2024-06-30")
    code, output = cli("report", "usage", *period, *state)
    assert code == 0, output
    assert "Registry usage 2024-01-01..2024-06-30" in output
    out = tmp_path / "usage.csv"
    code, output = cli("report", "usage", *period, "--format", "csv", "--out", str(out), *state)
    assert code == 0, output
    assert out.read_text(encoding="utf-8-sig").startswith("agreement_id,action,purpose")


def test_the_programs_read_models_are_rebuilt_from_the_streams(up: Up, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + GOOD_ROWS.replace("B.I-70", "B.I-90"))
    assert cli("import", str(roster), "--state-dir", str(up.state_dir))[0] == 0
    code, output = cli("rebuild", "programs", "--state-dir", str(up.state_dir))
    assert code == 0, output
    assert "programs read models rebuilt from" in output
    entries = int(output.split("rebuilt from ")[1].split(" entries")[0])
    assert entries >= 2  # at least the two people just admitted


def test_sigterm_stops_every_service_and_up_exits_zero(up: Up) -> None:
    running = up.running()
    pids = [s["pid"] for s in running["services"].values()] + [running["redis_pid"]]
    started = time.monotonic()
    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(timeout=STOP_BUDGET_S) == 0, up.text()
    took = time.monotonic() - started
    assert "every service stopped cleanly" in up.text()
    assert [pid for pid in pids if alive(pid)] == []
    assert not (up.state_dir / RUNNING_FILE).exists()
    print(f"sinergi up stopped in {took:.1f} s")


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_sigterm_while_the_services_start_stops_what_started(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
    args = ["up", "--state-dir", str(tmp_path / "state"), "--port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        seen: set[int] = set()
        deadline = time.monotonic() + READY_BUDGET_S
        while len(seen) < 2:  # the embedded Redis and the registry stand-in
            assert process.poll() is None and time.monotonic() < deadline
            seen |= children(process.pid)
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=STOP_BUDGET_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert "SIGTERM: stopping every service" in text
    assert [pid for pid in seen if alive(pid)] == []
    assert not (tmp_path / "state" / RUNNING_FILE).exists()
