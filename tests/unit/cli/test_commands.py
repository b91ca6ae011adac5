"""Command-line parsing (nothing here reaches Redis or a service)."""

from __future__ import annotations

from typer.testing import CliRunner

from services.cli.main import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output
    assert "deadletters" in result.output


def test_replay_needs_an_id_or_all() -> None:
    assert runner.invoke(app, ["deadletters", "replay"]).exit_code == 2
    assert runner.invoke(app, ["deadletters", "replay", "1-0", "--all"]).exit_code == 2


def test_stream_filters_only_replay_all() -> None:
    result = runner.invoke(app, ["deadletters", "replay", "1-0", "--stream", "sinergi.programs"])
    assert result.exit_code == 2
