"""The `sinergi` command line: operator tools and the demo."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from services.cli import deadletters, prove, summary
from services.cli import report as reports
from services.cli.demo import DemoOptions, redis_url_from_environment, run_demo
from services.cli.embedded_redis import RedisUnavailableError
from services.cli.endpoints import DEFAULT_STATE_DIR, resolve
from services.cli.import_roster import ImportFailedError, print_result, upload
from services.cli.rebuild import Rebuildable, run_rebuild
from services.cli.report import ReportFailedError, ReportFormat
from services.cli.scenario import DEFAULT_SCENARIO
from services.cli.supervisor import ServiceFailedError
from services.cli.topology import DEFAULT_BASE_PORT, DEFAULT_FACILITY, DEFAULT_TIMEZONE
from services.cli.up import Database, Up, UpOptions, read_running

app = typer.Typer(
    name="sinergi",
    help="Sinergi: cooperation agreements of correctional facilities, as event-driven services.",
    no_args_is_help=True,
)
app.add_typer(deadletters.app, name="deadletters")
app.add_typer(prove.app, name="prove")
report_app = typer.Typer(help="Reports of the running services, over HTTP.", no_args_is_help=True)
app.add_typer(report_app, name="report")

StateDir = Annotated[
    Path,
    typer.Option(
        "--state-dir", help="The state directory of a running `sinergi up` (its URLs and keys)."
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", envvar="SINERGI_STAFF_KEY", help="Default: the key `up` made."),
]


def _console() -> Console:
    console = Console()
    # Piped output (CI, tests) would otherwise wrap the tables at 80 columns.
    return console if console.is_terminal else Console(width=160)


@app.command()
def demo(
    state_dir: Annotated[
        Path, typer.Option("--state-dir", help="Databases and logs; recreated on every run.")
    ] = Path(".sinergi/demo"),
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave the service and Redis up afterwards.")
    ] = False,
    scenario: Annotated[
        Path, typer.Option("--scenario", exists=True, dir_okay=False, help="The case as data.")
    ] = DEFAULT_SCENARIO,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Tables in id (Bahasa Indonesia, default) or en."),
    ] = None,
) -> None:
    """Play the Barabai case end to end (agreements, identity, programs); check every figure."""
    try:
        language = summary.language(lang)  # --lang, else SINERGI_LANGUAGE, else id
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--lang") from None
    options = DemoOptions(
        state_dir=state_dir.resolve(),
        scenario_path=scenario,
        keep_running=keep_running,
        redis_url=redis_url_from_environment(),
        lang=language,
    )
    try:
        matched = run_demo(options, _console())
    # DemoError, ApiError, a service or Redis that would not start: all RuntimeErrors
    except (RuntimeError, httpx.HTTPError) as error:
        typer.echo(f"demo: {error}", err=True)
        raise typer.Exit(2) from None
    if not matched:
        raise typer.Exit(1)


@app.command()
def up(
    state_dir: Annotated[
        Path, typer.Option("--state-dir", help="Databases, logs and keys; kept between runs.")
    ] = DEFAULT_STATE_DIR,
    redis_url: Annotated[
        str | None,
        typer.Option("--redis-url", help="Use this Redis; without it an embedded one is started."),
    ] = None,
    database: Annotated[Database, typer.Option("--database", help="Where the data lives.")] = (
        "sqlite"
    ),
    postgres_url: Annotated[
        str | None,
        typer.Option(
            "--postgres-url",
            help="With --database postgres: an admin URL; <prefix>_<service> databases are "
            "created there when missing.",
        ),
    ] = None,
    postgres_prefix: Annotated[
        str, typer.Option("--postgres-prefix", help="Names of the databases: <prefix>_<service>.")
    ] = "sinergi",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            min=0,
            max=65000,
            help="Base port: agreements +1, identity +11, programs +21, dashboard +80, "
            "civil-registry +90 (as compose publishes them); 0 picks free ports.",
        ),
    ] = DEFAULT_BASE_PORT,
    service: Annotated[
        list[str] | None,
        typer.Option("--service", help="Only these services (repeat the option)."),
    ] = None,
    facility: Annotated[str, typer.Option("--facility")] = DEFAULT_FACILITY,
    timezone: Annotated[str, typer.Option("--timezone")] = DEFAULT_TIMEZONE,
    json_logs: Annotated[
        bool, typer.Option("--json-logs", help="Show the services' log lines as they are.")
    ] = False,
) -> None:
    """Run the whole topology as processes until Ctrl-C (or SIGTERM), then stop it cleanly."""
    if database == "postgres" and not postgres_url:
        raise typer.BadParameter("--database postgres needs --postgres-url")
    options = UpOptions(
        state_dir=state_dir,
        redis_url=redis_url,
        database=database,
        postgres_url=postgres_url,
        postgres_prefix=postgres_prefix,
        base_port=port,
        facility=facility,
        timezone=timezone,
        services=tuple(service) if service else None,
        json_logs=json_logs,
    )
    try:
        code = Up(options, _console()).run()
    except (ServiceFailedError, RedisUnavailableError, ValueError, OSError) as error:
        typer.echo(f"up: {error}", err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
def rebuild(
    service: Annotated[Rebuildable, typer.Argument(help="Whose read models to rebuild.")],
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="SINERGI_PROGRAMS_DATABASE_URL",
            help="Default: the database of a running `sinergi up`.",
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis-url", envvar="SINERGI_REDIS_URL", help="Default: the Redis of `sinergi up`."
        ),
    ] = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Rebuild a service's read models from the event streams (one transaction)."""
    running = read_running(state_dir)
    database_url = database_url or running.get("services", {}).get(service.value, {}).get(
        "database_url"
    )
    redis_url = redis_url or running.get("redis_url")
    if not database_url or not redis_url:
        raise typer.BadParameter(
            "give --database-url and --redis-url, or run `sinergi up` with this --state-dir"
        )
    console = _console()
    report = run_rebuild(service, str(database_url), str(redis_url), console)
    console.print(
        f"[green]✓[/] {service.value} read models rebuilt from {report.entries} entries: "
        f"{report.applied} applied, {report.skipped_invalid} invalid skipped"
    )


@app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="A roster, CSV or XLSX, with a header."),
    ],
    identity_url: Annotated[
        str | None,
        typer.Option("--identity-url", envvar="SINERGI_IDENTITY_URL", help="The identity service."),
    ] = None,
    api_key: ApiKey = None,
    facility: Annotated[
        str | None, typer.Option("--facility", help="For a key that serves several facilities.")
    ] = None,
    allow_refused: Annotated[
        bool, typer.Option("--allow-refused", help="Exit 0 even when rows were refused.")
    ] = False,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Import a roster through the identity service; exit 1 if any row was refused."""
    if file.suffix.lower() not in (".csv", ".xlsx", ".xlsm"):
        raise typer.BadParameter("the roster must be a .csv or .xlsx file")
    endpoint = resolve("identity", identity_url, api_key, state_dir)
    console = _console()
    try:
        with console.status(f"importing {file.name} through {endpoint.url}"):
            result = upload(endpoint, file, facility)
    except (ImportFailedError, httpx.HTTPError) as error:
        typer.echo(f"import: {error}", err=True)
        raise typer.Exit(2) from None
    print_result(console, result)
    if result.refused and not allow_refused:
        raise typer.Exit(1)


FormatOption = Annotated[ReportFormat, typer.Option("--format", help="json, csv or xlsx.")]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", dir_okay=False, help="Write here (XLSX needs it); else the terminal."),
]


@report_app.command("realisation")
def realisation_report(
    format: FormatOption = ReportFormat.json,
    out: OutOption = None,
    month: Annotated[
        str | None, typer.Option("--month", help="YYYY-MM: as of the end of that month.")
    ] = None,
    partner: Annotated[str | None, typer.Option("--partner", help="A partner's code.")] = None,
    agreement_id: Annotated[str | None, typer.Option("--agreement-id")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Column names: id or en.")] = "id",
    programs_url: Annotated[
        str | None,
        typer.Option("--programs-url", envvar="SINERGI_PROGRAMS_URL", help="The programs service."),
    ] = None,
    api_key: ApiKey = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Realisation of every action-plan item against its target (programs service)."""
    _needs_out(format, out)
    if month is not None:
        _check_month(month)
    if lang not in ("id", "en"):
        raise typer.BadParameter("--lang is id or en")
    endpoint = resolve("programs", programs_url, api_key, state_dir)
    console = _console()
    try:
        body = reports.realisation(
            endpoint, format, console, month=month, partner=partner,
            agreement_id=agreement_id, lang=lang,
        )  # fmt: skip
    except (ReportFailedError, httpx.HTTPError) as error:
        typer.echo(f"report: {error}", err=True)
        raise typer.Exit(2) from None
    table = reports.realisation_table(body) if format is ReportFormat.json else None
    reports.write_or_show(body, format, out, console, table)


@report_app.command("usage")
def usage_report(
    period_start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    period_end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
    format: FormatOption = ReportFormat.json,
    out: OutOption = None,
    facility: Annotated[str | None, typer.Option("--facility")] = None,
    identity_url: Annotated[
        str | None,
        typer.Option("--identity-url", envvar="SINERGI_IDENTITY_URL", help="The identity service."),
    ] = None,
    api_key: ApiKey = None,
    state_dir: StateDir = DEFAULT_STATE_DIR,
) -> None:
    """Registry accesses per agreement and purpose (identity service; the Dukcapil report)."""
    _needs_out(format, out)
    start, end = period_start.date(), period_end.date()
    if end < start:
        raise typer.BadParameter("--to is before --from")
    endpoint = resolve("identity", identity_url, api_key, state_dir)
    console = _console()
    try:
        body = reports.usage(
            endpoint, format, console, period_start=start, period_end=end, facility=facility
        )
    except (ReportFailedError, httpx.HTTPError) as error:
        typer.echo(f"report: {error}", err=True)
        raise typer.Exit(2) from None
    table = reports.usage_table(body) if format is ReportFormat.json else None
    reports.write_or_show(body, format, out, console, table)


def _needs_out(format: ReportFormat, out: Path | None) -> None:
    if format is ReportFormat.xlsx and out is None:
        raise typer.BadParameter("--format xlsx needs --out FILE")


def _check_month(month: str) -> None:
    try:
        date.fromisoformat(f"{month}-01")
    except ValueError:
        raise typer.BadParameter("--month is YYYY-MM") from None


if __name__ == "__main__":
    app()
