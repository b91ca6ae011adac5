"""The identity part of the Barabai case: import the roster, match it, report on it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console

from services.cli.identity_client import IdentityClient, ImportReport, MatchingJob, UsageRow
from services.cli.roster import RosterEntry, build_roster, intended_counts, write_csv
from services.cli.service_client import ApiError

LEGAL_BASIS_TIMEOUT_S = 30.0
MATCHING_TIMEOUT_S = 60.0
PURPOSE = "Pemadanan NIK WBP Rutan Barabai untuk perekaman KTP-el dan pemilu"


@dataclass(frozen=True)
class IdentityFigures:
    roster: list[RosterEntry]
    imported: ImportReport
    job: MatchingJob
    nik_status: dict[str, int]
    needs_recording: int
    usage: list[UsageRow]
    period: tuple[date, date]

    @property
    def intended(self) -> dict[str, int]:
        return intended_counts(self.roster)


def semester_of(day: date) -> tuple[date, date]:
    if day.month <= 6:
        return date(day.year, 1, 1), date(day.year, 6, 30)
    return date(day.year, 7, 1), date(day.year, 12, 31)


def play_identity(client: IdentityClient, state_dir: Path, console: Console) -> IdentityFigures:
    roster = build_roster()
    path = write_csv(roster, state_dir / "roster-barabai.csv")
    imported = client.import_roster(path)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(imported.counts.items()))
    variants = sum(1 for entry in roster if entry.name_variant)
    console.print(
        f"[green]✓[/] roster {path.name}: {len(roster)} rows imported through /roster/imports "
        f"({counts}); {variants} names written M. / MUH."
    )
    job_id = _start_when_lawful(client, console)
    job = _wait_for_job(client, job_id, console)
    # Registry calls are audited at the moment they are made, not on the pinned day.
    period = semester_of(datetime.now(UTC).date())
    return IdentityFigures(
        roster=roster,
        imported=imported,
        job=job,
        nik_status=client.nik_status_counts(),
        needs_recording=client.needs_recording(),
        usage=client.usage(*period),
        period=period,
    )


def _start_when_lawful(client: IdentityClient, console: Console) -> str:
    """Start the job once the Dukcapil agreement has reached the identity service."""
    started = time.monotonic()
    while True:
        try:
            job_id = client.start_matching(PURPOSE)
        except ApiError as error:
            if error.status != 409 or time.monotonic() - started > LEGAL_BASIS_TIMEOUT_S:
                raise
            time.sleep(0.25)
            continue
        console.print(
            "[green]✓[/] legal basis (the Dukcapil agreement, nik_matching) known after "
            f"{time.monotonic() - started:.1f} s; matching job started"
        )
        return job_id


def _wait_for_job(client: IdentityClient, job_id: str, console: Console) -> MatchingJob:
    started = time.monotonic()
    while True:
        job = client.job(job_id)
        if job.status != "running":
            break
        if time.monotonic() - started > MATCHING_TIMEOUT_S:
            raise RuntimeError(f"matching job {job_id} still running after {MATCHING_TIMEOUT_S} s")
        time.sleep(0.25)
    console.print(
        f"[green]✓[/] matching job {job.status}: {job.done}/{job.total} people checked "
        f"against the civil registry in {time.monotonic() - started:.1f} s"
    )
    return job
