"""`sinergi demo`: the Barabai case, end to end, on a laptop.

Redis (embedded unless SINERGI_REDIS_URL is set) -> the agreements service on a pinned
day -> the scenario over HTTP -> the quarter's sessions as programs events -> realisation
-> a restart later in the year to show the calendar -> the identity part: the civil-registry
stand-in and the identity service, a synthetic roster imported and matched under the
Dukcapil agreement -> tables, and a check of every figure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.cli import checks
from services.cli.agreements_client import AgreementsClient, RealisationRow
from services.cli.agreements_service import AgreementsService, ServiceConfig
from services.cli.embedded_redis import EmbeddedRedis
from services.cli.identity_client import IdentityClient
from services.cli.identity_demo import IdentityFigures, play_identity
from services.cli.identity_service import IdentityConfig, IdentityServices
from services.cli.loading import LoadedIds, count_requests, load
from services.cli.programs_feed import (
    dead_letters_after,
    last_dead_letter_id,
    publish_activities,
)
from services.cli.scenario import Scenario, load_scenario
from services.cli.summary import print_identity_summary, print_summary
from shared.http.auth import generate_api_key

STATE_MARKER = ".sinergi-demo"
REPORT_DAY = date(2024, 1, 15)
REALISATION_TIMEOUT_S = 60.0


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoOptions:
    state_dir: Path
    scenario_path: Path
    keep_running: bool = False
    redis_url: str | None = None  # None: start an embedded Redis
    report_day: date = REPORT_DAY


def prepare_state_dir(path: Path) -> None:
    """Start from nothing, but never wipe a directory the demo did not create."""
    if path.exists() and any(path.iterdir()) and not (path / STATE_MARKER).exists():
        raise DemoError(f"{path} is not empty and was not made by the demo; choose another")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / STATE_MARKER).write_text("made by `sinergi demo`; deleted by its next run\n")


def run_demo(options: DemoOptions, console: Console) -> bool:
    """Returns True when every figure the service reports is the expected one."""
    started = time.monotonic()
    scenario = load_scenario(options.scenario_path)
    load_day = max(a.signed_on for a in scenario.agreements)
    prepare_state_dir(options.state_dir)
    api_key = generate_api_key()

    with contextlib.ExitStack() as running:
        redis_url = options.redis_url
        pids: list[int | None] = []
        if redis_url is None:
            embedded = EmbeddedRedis().start()
            running.callback(embedded.stop)
            redis_url, pids = embedded.url, [embedded.pid]
            console.print(f"[green]✓[/] embedded Redis ({embedded.binary}) at {redis_url}")
        else:
            console.print(f"[green]✓[/] Redis at {redis_url} (SINERGI_REDIS_URL)")

        config = ServiceConfig.fresh_port(
            options.state_dir,
            redis_url,
            scenario.facility.code,
            scenario.facility.timezone,
            api_key,
        )
        service = AgreementsService(config)
        running.callback(service.stop)
        service.start(load_day)
        console.print(f"[green]✓[/] agreements service at {config.base_url}, today {load_day}")
        # Started now, used later: they boot while the agreements part plays.
        identity_config = IdentityConfig(
            options.state_dir, redis_url, scenario.facility.code, scenario.facility.timezone
        )
        identity = IdentityServices(identity_config)
        running.callback(identity.stop)
        identity.spawn(options.report_day)

        with AgreementsClient(config.base_url, api_key) as client:
            ids = _load(client, scenario, console)
            dead_letters_from = last_dead_letter_id(redis_url)
            published = publish_activities(redis_url, scenario, ids)
            console.print(f"[green]✓[/] {published} session reports published on sinergi.programs")
            _wait_for_realisation(client, scenario, ids, console)

            service.stop()
            service.start(options.report_day)
            changed = client.advance_calendar()
            console.print(
                f"[green]✓[/] restarted on {options.report_day}; calendar run changed {changed}"
                " agreements (the service also runs it at start)"
            )
            agreements, rows = client.agreements(), client.realisation()

        identity.wait_ready()
        console.print(
            f"[green]✓[/] civil-registry stand-in at {identity_config.registry_url}, identity "
            f"service at {identity_config.base_url}, today {options.report_day}"
        )
        with IdentityClient(identity_config.base_url, identity_config.registration_key) as people:
            figures = play_identity(people, options.state_dir, console)

        print_summary(console, scenario, agreements, rows, options.report_day)
        print_identity_summary(console, figures)
        differences = [
            *checks.realisation_differences(scenario, ids, rows),
            *checks.milestone_differences(scenario, ids, rows, options.report_day),
            *checks.renewal_differences(scenario, ids, agreements),
            *checks.status_differences(scenario, agreements, options.report_day),
            *checks.dead_letter_differences(dead_letters_after(redis_url, dead_letters_from)),
            *checks.identity_differences(figures),
        ]
        _report(console, differences, len(rows), figures)
        console.print(f"demo took {time.monotonic() - started:.1f} s; state in {options.state_dir}")
        if options.keep_running:
            running.pop_all()
            pids[:0] = [service.pid, *identity.pids]
            console.print(
                f"\n[bold]Still running[/bold] (stop with kill -TERM {' '.join(map(str, pids))}):\n"
                f"  agreements API  {config.base_url}/docs\n"
                f"  staff API key   {api_key}\n"
                f"  identity API    {identity_config.base_url}/docs\n"
                f"  registration key {identity_config.registration_key}\n"
                f"  civil registry  {identity_config.registry_url}\n"
                f"  Redis           {redis_url}\n"
                f"  service logs    {config.log_path}, {identity_config.log_path}"
            )
        return not differences


def _load(client: AgreementsClient, scenario: Scenario, console: Console) -> LoadedIds:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("loading the scenario", total=count_requests(scenario))

        def step(done: str) -> None:
            progress.update(task, advance=1, description=f"loading: {done}")

        ids = load(client, scenario, step)
        progress.update(task, description="loaded the scenario")
    console.print(
        f"[green]✓[/] {len(ids.partners)} partners, {len(ids.agreements)} agreements, "
        f"{len(ids.items)} action plan items"
    )
    return ids


def _wait_for_realisation(
    client: AgreementsClient, scenario: Scenario, ids: LoadedIds, console: Console
) -> None:
    def differences(rows: list[RealisationRow]) -> list[str]:
        return checks.realisation_differences(scenario, ids, rows)

    waited = _poll(client.realisation, differences, REALISATION_TIMEOUT_S)
    if waited is None:
        console.print(f"[yellow]![/] realisation not as expected after {REALISATION_TIMEOUT_S} s")
    else:
        console.print(f"[green]✓[/] realisation consumed and reported after {waited:.1f} s")


def _poll(
    fetch: Callable[[], list[RealisationRow]],
    differences: Callable[[list[RealisationRow]], list[str]],
    timeout_s: float,
) -> float | None:
    """Seconds until ``differences`` came back empty, or None on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if not differences(fetch()):
            return time.monotonic() - started
        time.sleep(0.25)
    return None


def _report(console: Console, differences: list[str], items: int, figures: IdentityFigures) -> None:
    if differences:
        console.print(f"\n[bold red]✗ {len(differences)} figures differ:[/]")
        for difference in differences:
            console.print(f"  - {difference}")
        return
    console.print(
        f"\n[bold green]✓ all figures match[/]: realisation and milestones of {items} items, "
        f"renewal links, agreements by status, no dead letters; NIK outcomes of "
        f"{len(figures.roster)} roster rows as intended"
    )


def redis_url_from_environment() -> str | None:
    return os.environ.get("SINERGI_REDIS_URL") or None
