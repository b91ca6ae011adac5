"""`sinergi demo`: the Barabai case, end to end, on a laptop.

Redis (embedded unless SINERGI_REDIS_URL is set), then `sinergi up`'s topology on free ports
(:mod:`services.cli.topology`): the agreements service on the day the scenario is loaded ->
the scenario over HTTP -> the identity part: the civil-registry stand-in and the identity
service, a synthetic roster imported and matched under the Dukcapil agreement -> the
programs part: the quarter's sessions recorded through the programs API by the partner
agencies and the facility, with people of the roster attending (meanwhile the agreements
service restarts later in the year, to show the calendar) -> the realisation the
agreements service moves from the programs facts (re-assessing the items whose period
ended) -> the dashboard, which built the same figures from the streams alone -> tables
(Bahasa Indonesia, or English), the NIK report, and a check of every figure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import redis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.cli import checks
from services.cli.agreements_client import AgreementsClient, RealisationRow
from services.cli.dashboard_service import (
    DashboardConfig,
    PartnerLogin,
    login_lines,
    nik_counts_on_dashboard,
    realised_on_action_plans,
)
from services.cli.embedded_redis import EmbeddedRedis
from services.cli.identity_client import IdentityClient, Inmate
from services.cli.identity_demo import IdentityFigures, play_identity
from services.cli.loading import LoadedIds, count_requests, load
from services.cli.programs_demo import ProgramsFigures, Recorders, SessionCall, play_programs
from services.cli.roster import POPULATION_SEED, POPULATION_SIZE
from services.cli.scenario import Scenario, load_scenario
from services.cli.summary import (
    DEFAULT_LANG,
    Lang,
    print_identity_summary,
    print_programs_summary,
    print_summary,
    text,
)
from services.cli.supervisor import ProcessTopology
from services.cli.topology import ApiKey, Secrets, Topology, TopologyConfig
from shared.http.auth import Role
from shared.messaging.streams import DEADLETTER_STREAM

STATE_MARKER = ".sinergi-demo"
REPORT_DAY = date(2024, 1, 15)
REALISATION_TIMEOUT_S = 60.0
DASHBOARD_TIMEOUT_S = 30.0
AGREEMENTS, IDENTITY, PROGRAMS = "agreements", "identity", "programs"
REGISTRY, DASHBOARD = "civil-registry", "dashboard"


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoOptions:
    state_dir: Path
    scenario_path: Path
    keep_running: bool = False
    redis_url: str | None = None  # None: start an embedded Redis
    report_day: date = REPORT_DAY
    lang: Lang = DEFAULT_LANG


def prepare_state_dir(path: Path) -> None:
    """Start from nothing, but never wipe a directory the demo did not create."""
    if path.exists() and any(path.iterdir()) and not (path / STATE_MARKER).exists():
        raise DemoError(f"{path} is not empty and was not made by the demo; choose another")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / STATE_MARKER).write_text("made by `sinergi demo`; deleted by its next run\n")


def demo_topology(
    options: DemoOptions, scenario: Scenario, redis_url: str, load_day: date
) -> tuple[Topology, tuple[PartnerLogin, ...]]:
    """`sinergi up`'s topology on free ports: the agreements service on the day the scenario
    loads (it restarts later on the report day), every other service on the report day."""
    secrets = Secrets.generate()
    facility = scenario.facility.code
    partners = tuple(PartnerLogin(f"demo-partner-{p.code}", p.code) for p in scenario.partners)
    api_keys = (
        ApiKey("demo-staff", Role.STAFF, secrets.staff_key, facility=facility),
        ApiKey(
            "demo-registration",
            Role.REGISTRATION,
            secrets.registration_key,
            services=frozenset({"identity"}),
        ),
        *(
            ApiKey(
                login.name,
                Role.PARTNER,
                login.key,
                partner=login.partner,
                services=frozenset({"programs", "dashboard"}),
            )
            for login in partners
        ),
    )
    config = TopologyConfig(
        state_dir=options.state_dir,
        redis_url=redis_url,
        secrets=secrets,
        facility=facility,
        timezone=scenario.facility.timezone,
        base_port=0,
        api_keys=api_keys,
        extra_env={"SINERGI_TODAY": options.report_day.isoformat()},
        service_env={
            AGREEMENTS: {"SINERGI_TODAY": load_day.isoformat()},
            REGISTRY: {
                "SINERGI_REGISTRY_SEED": str(POPULATION_SEED),
                "SINERGI_REGISTRY_RATE_LIMIT_PER_S": "1000",
                "SINERGI_REGISTRY_RATE_BURST": "2000",
            },
            # The demo checks one job's figures: no changes feed or re-validation beside it.
            IDENTITY: {"SINERGI_REGISTRY_RESYNC_ENABLED": "false"},
            DASHBOARD: {"SINERGI_LANGUAGE": options.lang},
        },
        consumer_prefix="demo",
        registry_population=POPULATION_SIZE,
    )
    return Topology(config), partners


def run_demo(options: DemoOptions, console: Console) -> bool:
    """Returns True when every figure the services report is the expected one."""
    started = time.monotonic()
    scenario = load_scenario(options.scenario_path)
    load_day = max(a.signed_on for a in scenario.agreements)
    prepare_state_dir(options.state_dir)

    with contextlib.ExitStack() as running:
        redis_url = options.redis_url
        redis_pid: int | None = None
        if redis_url is None:
            embedded = EmbeddedRedis().start()
            running.callback(embedded.stop)
            redis_url, redis_pid = embedded.url, embedded.pid
            console.print(f"[green]✓[/] embedded Redis ({embedded.binary}) at {redis_url}")
        else:
            console.print(f"[green]✓[/] Redis at {redis_url} (SINERGI_REDIS_URL)")
        dead_letters_from = last_dead_letter_id(redis_url)

        topology, partners = demo_topology(options, scenario, redis_url, load_day)
        services = ProcessTopology(topology)
        running.callback(services.stop)
        staff_key = topology.secrets.staff_key
        partner_keys = {login.partner: login.key for login in partners}
        # Every service boots at once; the agreements part plays while the others get ready.
        for definition in topology.services:
            services.spawn(definition.name)
        services.wait_ready(AGREEMENTS)
        console.print(
            f"[green]✓[/] agreements service at {topology.url(AGREEMENTS)}, today {load_day}"
        )

        with AgreementsClient(topology.url(AGREEMENTS), staff_key) as client:
            ids = _load(client, scenario, console)
            with ThreadPoolExecutor(max_workers=1) as background:
                # The restart later in the year happens while the identity and programs parts
                # play: both learn the agreements from the stream, and the agreements service
                # consumes the programs facts from where its group left off once it is back.
                restarted = background.submit(
                    services.restart, AGREEMENTS, {"SINERGI_TODAY": options.report_day.isoformat()}
                )
                for name in (REGISTRY, IDENTITY):
                    services.wait_ready(name)
                console.print(
                    f"[green]✓[/] civil-registry stand-in at {topology.url(REGISTRY)}, "
                    f"identity service at {topology.url(IDENTITY)}, today {options.report_day}"
                )
                with IdentityClient(
                    topology.url(IDENTITY), topology.secrets.registration_key
                ) as people:
                    figures = play_identity(people, options.state_dir, console)
                    roster = people.inmates()

                services.wait_ready(PROGRAMS)
                console.print(
                    f"[green]✓[/] programs service at {topology.url(PROGRAMS)}, today "
                    f"{options.report_day}; keys for staff and {len(partner_keys)} partner agencies"
                )
                recorders = Recorders(topology.url(PROGRAMS), staff_key, partner_keys)
                running.callback(recorders.close)
                quarter = _record_quarter(recorders, scenario, ids, roster, console)
                restarted.result()
            changed = client.advance_calendar()
            console.print(
                f"[green]✓[/] agreements service restarted on {options.report_day}; calendar run "
                f"changed {changed} agreements (the service also runs it at start)"
            )
            _wait_for_realisation(client, scenario, ids, console)
            agreements, rows = client.agreements(), client.realisation()
        services.wait_ready(DASHBOARD)
        on_dashboard = _wait_for_dashboard(
            topology.url(DASHBOARD), staff_key, scenario, ids, figures
        )
        console.print(
            f"[green]✓[/] dashboard at {topology.url(DASHBOARD)}, built from the streams alone: "
            f"{len(on_dashboard.realised)} action plan items, "
            f"{sum(on_dashboard.nik_status.values())} people by NIK status"
        )

        rules_by_id = {ids.items[key]: rule for key, rule in quarter.rules.items()}
        print_summary(console, scenario, agreements, rows, options.report_day, options.lang)
        print_programs_summary(console, quarter.report, rules_by_id, quarter.sales, options.lang)
        print_identity_summary(console, figures, options.lang)
        differences = [
            *checks.counting_differences(scenario, quarter.rules),
            *checks.programs_report_differences(scenario, ids, quarter.report),
            *checks.sales_differences(scenario, quarter.sales),
            *checks.realisation_differences(scenario, ids, rows),
            *on_dashboard.differences(scenario, ids, figures),
            *checks.milestone_differences(scenario, ids, rows, options.report_day),
            *checks.renewal_differences(scenario, ids, agreements),
            *checks.status_differences(scenario, agreements, options.report_day),
            *checks.dead_letter_differences(dead_letters_after(redis_url, dead_letters_from)),
            *checks.identity_differences(figures),
        ]
        _report(console, differences, len(rows), quarter, figures, options.lang)
        console.print(f"demo took {time.monotonic() - started:.1f} s; state in {options.state_dir}")
        if options.keep_running:
            running.pop_all()
            _print_still_running(console, topology, services, redis_pid, partners, options.lang)
        return not differences


def _print_still_running(
    console: Console,
    topology: Topology,
    services: ProcessTopology,
    redis_pid: int | None,
    partners: tuple[PartnerLogin, ...],
    lang: Lang,
) -> None:
    pids = [*services.pids().values(), *([redis_pid] if redis_pid is not None else [])]
    lines = [f"\n[bold]Still running[/bold] (stop with kill -TERM {' '.join(map(str, pids))}):"]
    for definition in topology.services:
        name = definition.name
        docs = "" if name in (REGISTRY, DASHBOARD) else "/docs"
        lines.append(f"  {name:<15} {topology.url(name)}{docs}  (log {topology.log_path(name)})")
    lines += [
        f"  Redis           {topology.config.redis_url}",
        f"  registration key (identity API) {topology.secrets.registration_key}",
        "The keys below open the dashboard and the APIs (a partner's: programs and dashboard):",
    ]
    dashboard = DashboardConfig(
        state_dir=topology.config.state_dir,
        redis_url=topology.config.redis_url,
        facility=topology.config.facility,
        timezone=topology.config.timezone,
        staff_key=topology.secrets.staff_key,
        partners=partners,
        port=topology.ports[DASHBOARD],
    )
    lines += login_lines(dashboard, lang=lang)
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class DashboardFigures:
    realised: dict[str, int]  # by item id, from /action-plans
    nik_status: dict[str, int]  # from /nik

    def differences(
        self, scenario: Scenario, ids: LoadedIds, figures: IdentityFigures
    ) -> list[str]:
        return [
            *checks.dashboard_differences(scenario, ids, self.realised),
            *checks.dashboard_nik_differences(figures, self.nik_status),
        ]


def _wait_for_dashboard(
    base_url: str, staff_key: str, scenario: Scenario, ids: LoadedIds, figures: IdentityFigures
) -> DashboardFigures:
    """What the dashboard shows once it is what is expected (or at the timeout)."""
    deadline = time.monotonic() + DASHBOARD_TIMEOUT_S
    while True:
        shown = DashboardFigures(
            realised_on_action_plans(base_url, staff_key),
            nik_counts_on_dashboard(base_url, staff_key),
        )
        if not shown.differences(scenario, ids, figures) or time.monotonic() > deadline:
            return shown
        time.sleep(0.25)


def _record_quarter(
    recorders: Recorders,
    scenario: Scenario,
    ids: LoadedIds,
    roster: list[Inmate],
    console: Console,
) -> ProgramsFigures:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("recording the sessions", total=len(scenario.activities))

        def step(call: SessionCall) -> None:
            who = call.recorder or "staff"
            progress.update(task, advance=1, description=f"{who}: {call.activity.session_id}")

        quarter = play_programs(recorders, scenario, ids, roster, step)
        progress.update(task, description="recorded the sessions")
    recorders_text = ", ".join(f"{n} by {who}" for who, n in sorted(quarter.by_recorder.items()))
    console.print(
        f"[green]✓[/] {quarter.calls} session reports and {len(scenario.sales)} sales recorded "
        f"through the programs API in {quarter.seconds:.1f} s ({recorders_text})"
    )
    return quarter


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


def _report(
    console: Console,
    differences: list[str],
    items: int,
    quarter: ProgramsFigures,
    figures: IdentityFigures,
    lang: Lang,
) -> None:
    if differences:
        console.print(f"\n[bold red]{text('differ', lang, count=len(differences))}[/]")
        for difference in differences:
            console.print(f"  - {difference}")
        return
    detail = text(
        "all_match_detail",
        lang,
        items=items,
        sessions=quarter.calls,
        months=len(quarter.sales),
        roster=len(figures.roster),
    )
    console.print(f"\n[bold green]{text('all_match', lang)}[/]: {detail}")


def last_dead_letter_id(redis_url: str) -> str:
    """Where the dead-letter stream ends now ("0" when empty), to count what comes after."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        last = client.xrevrange(DEADLETTER_STREAM, count=1)
        return str(last[0][0]) if last else "0"
    finally:
        client.close()


def dead_letters_after(redis_url: str, start_id: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return len(client.xrange(DEADLETTER_STREAM, min=f"({start_id}") or [])
    finally:
        client.close()


def redis_url_from_environment() -> str | None:
    return os.environ.get("SINERGI_REDIS_URL") or None
