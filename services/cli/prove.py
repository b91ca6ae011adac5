"""`sinergi prove ...`: the full runs of the proof suites whose short versions CI runs.

Each command runs the suite's pytest tests from a checkout of the repository (the tests
and their seeded services live there) with the full-run settings, and prints the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

REPO = Path(__file__).resolve().parents[2]

app = typer.Typer(name="prove", help="Full runs of the proof suites (CI runs short ones).")


def _pytest(paths: list[str], env: dict[str, str]) -> int:
    if not (REPO / "tests").is_dir():
        typer.echo("prove: run from a checkout of the repository (tests/ is missing)", err=True)
        raise typer.Exit(2)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths]
    return subprocess.call(command, cwd=REPO, env={**os.environ, **env})


@app.command()
def fuzz(
    cases: Annotated[
        int, typer.Option("--cases", min=1, help="Generated requests per service, at least.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Hypothesis seed.")] = 2024,
) -> None:
    """Schemathesis against every service's OpenAPI: no 5xx, no answer outside the schema."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "fuzz.jsonl"
        code = _pytest(
            ["tests/integration/fuzz"],
            {
                "SINERGI_FUZZ_CASES": str(cases),
                "SINERGI_FUZZ_SEED": str(seed),
                "SINERGI_FUZZ_REPORT": str(report),
            },
        )
        rows = (
            [json.loads(line) for line in report.read_text().splitlines()]
            if report.exists()
            else []
        )
    typer.echo("\n| service | operations | cases | failures | accepted invalid input | seconds |")
    typer.echo("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        typer.echo(
            f"| {row['service']} | {row['operations']} | {row['cases']} | {row['failures']} "
            f"| {len(row['accepted_invalid_input'])} | {row['seconds']} |"
        )
        for problem in row["problems"]:
            typer.echo(f"  FAILURE {problem}")
    raise typer.Exit(code)


@app.command()
def security() -> None:
    """The access matrix, the secret scan and the compose credential checks."""
    raise typer.Exit(_pytest(["tests/integration/security"], {}))


@app.command()
def privacy() -> None:
    """The whole e2e tier with the NIK scan over its logs, streams, error bodies, metrics."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "privacy.txt"
        code = _pytest(["tests/e2e"], {"SINERGI_PRIVACY_REPORT": str(report)})
        if report.exists():
            typer.echo(report.read_text())
    raise typer.Exit(code)
