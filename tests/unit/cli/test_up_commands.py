"""Parsing of `up`, `rebuild`, `import` and `report` (nothing here reaches a service)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from services.cli.main import app
from services.cli.up import PrefixedLog, render_line

runner = CliRunner()


def test_help_lists_the_topology_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "rebuild", "import", "report"):
        assert command in result.output


def test_postgres_needs_an_admin_url() -> None:
    result = runner.invoke(app, ["up", "--database", "postgres"])
    assert result.exit_code == 2
    assert "--postgres-url" in result.output


def test_up_knows_only_sqlite_and_postgres() -> None:
    assert runner.invoke(app, ["up", "--database", "mysql"]).exit_code == 2


def test_only_the_programs_read_models_can_be_rebuilt() -> None:
    assert runner.invoke(app, ["rebuild", "agreements"]).exit_code == 2


def test_a_rebuild_without_a_database_or_a_running_up_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rebuild", "programs", "--state-dir", str(tmp_path)], env={})
    assert result.exit_code == 2
    assert "--database-url" in result.output


def test_a_roster_is_csv_or_xlsx(tmp_path: Path) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("name\n")
    result = runner.invoke(
        app, ["import", str(roster), "--identity-url", "http://x", "--api-key", "k"]
    )
    assert result.exit_code == 2
    assert ".csv or .xlsx" in result.output


def test_an_import_without_a_service_to_send_it_to_is_refused(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name\n")
    result = runner.invoke(
        app, ["import", str(roster), "--state-dir", str(tmp_path / "none")], env={}
    )
    assert result.exit_code == 2
    assert "--identity-url" in result.output


def test_an_xlsx_report_needs_a_file_to_go_to() -> None:
    result = runner.invoke(
        app, ["report", "realisation", "--format", "xlsx", "--programs-url", "http://x"]
    )
    assert result.exit_code == 2
    assert "--out" in result.output


def test_a_report_month_is_year_and_month() -> None:
    args = ["report", "realisation", "--month", "2024-13", "--programs-url", "http://x"]
    assert runner.invoke(app, args).exit_code == 2


def test_a_usage_period_ends_after_it_starts() -> None:
    args = ["report", "usage", "--from", "2024-07-01", "--to", "2024-01-01"]
    result = runner.invoke(app, [*args, "--identity-url", "http://x", "--api-key", "k"])
    assert result.exit_code == 2


def test_a_log_record_is_shown_as_time_level_and_message() -> None:
    record = {"time": "2024-06-01T02:03:04.567+00:00", "level": "INFO", "message": "started"}
    assert render_line(json.dumps(record)).plain == "02:03:04.567 INFO    started"
    assert render_line(json.dumps(record), json_logs=True).plain == json.dumps(record)
    assert render_line("Traceback (most recent call last):").plain.startswith("Traceback")


def test_each_service_gets_its_own_coloured_prefix() -> None:
    console = Console(record=True, width=120, color_system="truecolor")
    log = PrefixedLog(console, ["agreements", "identity"])
    log("agreements")("one")
    log("identity")("two")
    lines = console.export_text().splitlines()
    assert lines == ["agreements | one", "identity   | two"]
    assert log.colours["agreements"] != log.colours["identity"]
