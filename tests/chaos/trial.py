"""Kill -9 trials: ``python -m tests.chaos.trial --trials 20 --events 100000 --seed 1``.

One trial per seed (``seed``, ``seed + 1``, ...): the cluster of :mod:`tests.chaos.cluster`,
seeded, loaded until the source streams hold ``--events`` entries while replicas are killed
and restarted, drained, then checked (:mod:`tests.chaos.checks`). Prints a row per trial;
the exit status is 1 if any check of any trial failed. ``sinergi prove chaos`` runs this.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis

from tests.chaos import checks
from tests.chaos.cluster import running_cluster
from tests.chaos.load import SOURCE_STREAMS, Ledger, drive, seed

HEADER = (
    "| seed | kills | events | accepted sessions | accepted sales | resent (replayed) "
    "| unknown fate "
    "| load s | drain s | total s | checks passed |"
)


@dataclass
class TrialResult:
    seed: int
    events_target: int
    kills: int = 0
    events: int = 0
    sessions: int = 0
    sales: int = 0
    unknown: int = 0
    resent: int = 0
    replayed: int = 0
    load_s: float = 0.0
    drain_s: float = 0.0
    seconds: float = 0.0
    texts_scanned: int = 0
    stored: dict[str, int] = field(default_factory=dict)  # rows in programs, accepted or not
    job_s: float = 0.0  # the matching job, from its start to its end
    checks: dict[str, list[str]] = field(default_factory=dict)  # name -> problems
    kill_log: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and not any(self.checks.values())

    def row(self) -> str:
        ok = sum(1 for problems in self.checks.values() if not problems)
        return (
            f"| {self.seed} | {self.kills} | {self.events:,} | {self.sessions:,} | {self.sales:,} "
            f"| {self.resent} ({self.replayed}) | {self.unknown} | {self.load_s:.0f} "
            f"| {self.drain_s:.0f} | {self.seconds:.0f} "
            f"| {ok}/{len(self.checks)} |"
        )


def run_trial(seed_value: int, events: int, workdir: Path) -> TrialResult:
    result = TrialResult(seed_value, events)
    started = time.monotonic()
    state_dir = workdir / f"trial-{seed_value}"
    try:
        with running_cluster(seed_value, state_dir) as (cluster, databases, redis_url):
            seeded = seed(cluster, state_dir)
            ledger: Ledger = asyncio.run(drive(cluster, redis_url, seeded, seed_value, events))
            result.kills, result.kill_log = cluster.kills, ledger.kills
            result.sessions, result.sales = len(ledger.sessions), len(ledger.sales)
            result.unknown = ledger.unknown_sessions + ledger.unknown_sales
            result.resent, result.replayed = ledger.resent, ledger.replayed
            result.load_s = ledger.load_s
            drained = checks.wait_drained(redis_url, databases, seeded.job_id)
            result.drain_s = drained.seconds
            result.events = _events_now(redis_url)
            programs, agreements = databases.engine("programs"), databases.engine("agreements")
            identity = databases.engine("identity")
            result.stored = checks.stored_counts(programs)
            result.job_s = checks.job_seconds(identity, seeded.job_id)
            result.checks = {
                "drained": checks.drain_problems(drained),
                "no rejected command": ledger.rejected[:20],
                "programs: accepted exactly once": checks.programs_problems(programs, ledger),
                "agreements: realisation": checks.realisation_problems(
                    programs, agreements, seeded
                ),
                "identity: one result per person": checks.people_problems(
                    identity, programs, seeded.job_id
                ),
                "redis: no pending, no dead letters": checks.redis_problems(redis_url),
            }
            leaks, result.texts_scanned = checks.privacy_problems(redis_url, state_dir)
            result.checks["no NIK in logs or streams"] = leaks
    except Exception as error:  # a trial that could not finish is a failed trial
        result.checks["trial ran to the end"] = [f"{type(error).__name__}: {error}"[:2000]]
    result.seconds = time.monotonic() - started
    return result


def _events_now(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return sum(int(client.xlen(stream)) for stream in SOURCE_STREAMS)
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", type=Path, help="append each trial as a JSON line")
    parser.add_argument("--keep", action="store_true", help="keep the trials' logs")
    parser.add_argument(
        "--not-after",
        type=datetime.fromisoformat,
        help="start no trial after this time (ISO 8601 with a zone, e.g. 2026-11-28T14:00Z)",
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="sinergi-chaos-"))
    print(
        f"{args.trials} trial(s) of {args.events:,} events from seed {args.seed}; logs in {workdir}"
    )
    print(HEADER)
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    failed = ran = 0
    for number in range(args.trials):
        if args.not_after is not None and datetime.now(UTC) > args.not_after:
            print(f"stopped before trial {number + 1}: past {args.not_after.isoformat()}")
            break
        ran += 1
        result = run_trial(args.seed + number, args.events, workdir)
        print(result.row(), flush=True)
        for name, problems in result.checks.items():
            for problem in problems[:10]:
                print(f"  FAILED {name}: {problem}", flush=True)
        if args.report is not None:
            with args.report.open("a") as report:
                report.write(json.dumps(asdict(result)) + "\n")
        failed += not result.passed
    if not args.keep and not failed:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{ran - failed} of {ran} trials passed every check")
    return 1 if failed or not ran else 0


if __name__ == "__main__":
    sys.exit(main())
