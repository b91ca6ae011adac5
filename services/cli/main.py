"""The `sinergi` command line: operator tools and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from services.cli import deadletters
from services.cli.demo import DemoOptions, redis_url_from_environment, run_demo
from services.cli.scenario import DEFAULT_SCENARIO

app = typer.Typer(
    name="sinergi",
    help="Sinergi: cooperation agreements of correctional facilities, as event-driven services.",
    no_args_is_help=True,
)
app.add_typer(deadletters.app, name="deadletters")


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
) -> None:
    """Play the agreements part of the Barabai case end to end and check every figure."""
    options = DemoOptions(
        state_dir=state_dir.resolve(),
        scenario_path=scenario,
        keep_running=keep_running,
        redis_url=redis_url_from_environment(),
    )
    try:
        matched = run_demo(options, _console())
    # DemoError, ApiError, a service or Redis that would not start: all RuntimeErrors
    except (RuntimeError, httpx.HTTPError) as error:
        typer.echo(f"demo: {error}", err=True)
        raise typer.Exit(2) from None
    if not matched:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
