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


# --- registry outage (issue 6) ----------------------------------------------------------------


@app.command("registry-outage")
def registry_outage(
    outage_s: Annotated[
        float, typer.Option("--outage-s", min=1, help="Seconds the registry is unreachable.")
    ] = 600,
    people: Annotated[
        int, typer.Option("--people", min=100, help="People in the matching job.")
    ] = 3000,
) -> None:
    """A matching job through faults and a civil-registry outage: resumes, one result each."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "outage.json"
        code = _pytest(
            ["tests/e2e/test_registry_outage.py"],
            {
                "SINERGI_OUTAGE_S": str(outage_s),
                "SINERGI_OUTAGE_PEOPLE": str(people),
                "SINERGI_OUTAGE_REPORT": str(report),
            },
        )
        if report.exists():
            typer.echo(report.read_text())
    raise typer.Exit(code)


# --- load: bench/regional.py at full scale ----------------------------------------------------


@app.command()
def load(
    facilities: Annotated[int, typer.Option("--facilities", min=1)] = 20,
    people: Annotated[int, typer.Option("--people", min=10)] = 20_000,
    months: Annotated[int, typer.Option("--months", min=1, max=12)] = 12,
    database: Annotated[str, typer.Option("--database", help="postgresql or sqlite")] = (
        "postgresql"
    ),
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the figures into this markdown file.")
    ] = None,
) -> None:
    """The regional office load: 20 facilities, 160 agreements, 20,000 people, a year."""
    if not (REPO / "bench" / "regional.py").is_file():
        typer.echo("prove: run from a checkout of the repository (bench/ is missing)", err=True)
        raise typer.Exit(2)
    command = [
        *(sys.executable, "-m", "bench.regional", "--facilities", str(facilities)),
        *("--people", str(people), "--months", str(months), "--database", database),
    ]
    if output is not None:
        command += ["--output", str(output.resolve())]
    raise typer.Exit(subprocess.call(command, cwd=REPO))


# --- outages (tests/e2e/test_outages_redis.py, tests/e2e/test_outages_database.py) ---------


def _outage_counts(commands: dict[str, dict[str, int]]) -> str:
    accepted = sum(kinds.get("accepted", 0) for kinds in commands.values())
    refused: dict[str, int] = {}
    for kinds in commands.values():
        for status, n in kinds.items():
            if status != "accepted":
                refused[status] = refused.get(status, 0) + n
    shown = ", ".join(f"{n} x {status}" for status, n in sorted(refused.items()))
    return f"{accepted} accepted" + (f", refused {shown}" if shown else "")


@app.command()
def outages(
    load_seconds: Annotated[
        float, typer.Option("--load-seconds", min=1, help="Load before and after the outage.")
    ] = 30,
    outage_seconds: Annotated[
        float,
        typer.Option("--outage-seconds", min=1, help="How long Redis / the database is away."),
    ] = 45,
) -> None:
    """Redis restarted (AOF) and PostgreSQL cut mid-load: nothing lost, 503s, recovery."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "outages.jsonl"
        code = _pytest(
            ["tests/e2e/test_outages_redis.py", "tests/e2e/test_outages_database.py"],
            {
                "SINERGI_OUTAGE_LOAD_S": str(load_seconds),
                "SINERGI_OUTAGE_S": str(outage_seconds),
                "SINERGI_OUTAGE_REPORT": str(report),
            },
        )
        rows = (
            [json.loads(line) for line in report.read_text().splitlines()]
            if report.exists()
            else []
        )
    for row in rows:
        typer.echo(f"\n{row['suite']}: load {row['load_s']} s, outage {row['outage_s']} s")
        back = {k: round(v, 2) for k, v in row.items() if k in ("up_at", "programs_up_at")}
        typer.echo(f"  cut at {row['down_at']:.2f} s since load start; back at {back}")
        for phase in ("before", "during", "after"):
            typer.echo(f"  commands {phase}: {_outage_counts(row['commands'].get(phase, {}))}")
        if "in_doubt" in row:
            typer.echo(
                "  refused, sent before the cut and found committed whole (COMMIT in flight): "
                f"{row['in_doubt']}"
            )
        if row.get("imports_resumed"):
            typer.echo(
                f"  refused imports completed by sending the file again: {row['imports_resumed']}"
            )
        if "commands_while_only_programs_was_away" in row:
            counts = _outage_counts(row["commands_while_only_programs_was_away"])
            typer.echo(f"  commands while only programs' database was away: {counts}")
            typer.echo(
                f"  programs' unapplied entries, at most: {row['programs_backlog_while_paused']}"
            )
        ready = row.get("ready_again_after_redis_s") or row.get("ready_again_after_database_s")
        typer.echo(f"  ready again after the dependency came back (s): {ready}")
        typer.echo(f"  readiness (s since load start, status): {row['readiness']}")
        typer.echo(f"  failing checks when it went red: {row.get('red_because')}")
        delivered = row["delivered"]
        typer.echo(
            f"  drained in {row['drain_s']} s; pending {sum(delivered['pending'].values())}, "
            f"dead letters {delivered['dead_letters']}, events per stream "
            f"{delivered['stream_events']} (entries {delivered['stream_entries']}); "
            f"same processes: {row['same_processes']}"
        )
        for problem in row["problems"]:
            typer.echo(f"  PROBLEM {problem}")
    raise typer.Exit(code)


# --- chaos: kill -9 trials (tests/chaos) ------------------------------------------------------


@app.command()
def chaos(
    trials: Annotated[int, typer.Option("--trials", min=1, help="Trials, one seed each.")] = 20,
    events: Annotated[
        int, typer.Option("--events", min=100, help="Stream entries produced per trial.")
    ] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first trial (then +1).")] = 1,
) -> None:
    """Two replicas per service killed -9 at random under load: every effect once, no loss."""
    if not (REPO / "tests" / "chaos").is_dir():
        typer.echo("prove: run from a checkout of the repository (tests/ is missing)", err=True)
        raise typer.Exit(2)
    command = [sys.executable, "-m", "tests.chaos.trial", "--trials", str(trials)]
    command += ["--events", str(events), "--seed", str(seed)]
    raise typer.Exit(subprocess.call(command, cwd=REPO))
