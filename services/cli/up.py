"""`sinergi up`: the whole topology as processes, until Ctrl-C or SIGTERM.

Redis (embedded unless a URL is given) and the databases (SQLite files in the state
directory, or one PostgreSQL database per service) first, then the services wave by wave
(see :mod:`services.cli.topology`). Each service's log lines carry a coloured prefix. On
SIGINT or SIGTERM every service gets SIGTERM, later waves first, and `up` exits 0 once all
of them stopped cleanly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url

from services.cli.embedded_redis import EmbeddedRedis
from services.cli.processes import LineSink
from services.cli.supervisor import ProcessTopology
from services.cli.topology import (
    DEFAULT_BASE_PORT,
    DEFAULT_FACILITY,
    DEFAULT_TIMEZONE,
    SECRETS_FILE,
    Secrets,
    Topology,
    TopologyConfig,
)

RUNNING_FILE = "up.json"
COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan")
LEVEL_STYLES = {"WARNING": "yellow", "ERROR": "bold red", "CRITICAL": "bold red"}
Database = Literal["sqlite", "postgres"]


@dataclass(frozen=True)
class UpOptions:
    state_dir: Path
    redis_url: str | None = None  # None: an embedded Redis
    database: Database = "sqlite"
    postgres_url: str | None = None  # an admin URL; one database per service is made there
    postgres_prefix: str = "sinergi"
    base_port: int = DEFAULT_BASE_PORT  # 0: free ports
    facility: str = DEFAULT_FACILITY
    timezone: str = DEFAULT_TIMEZONE
    services: tuple[str, ...] | None = None
    json_logs: bool = False
    registry_population: int = 20_000


class _Interrupted(Exception):  # a signal during the start, not an error
    pass


# --- databases -------------------------------------------------------------------------------


def postgres_database_urls(admin_url: str, services: Iterable[str], prefix: str) -> dict[str, str]:
    """``<prefix>_<service>`` on the server of ``admin_url``, made when missing, kept otherwise."""
    base = make_url(admin_url)
    urls: dict[str, str] = {}
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        for service in services:
            name = f"{prefix}_{service}"
            found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            urls[service] = base.set(database=name).render_as_string(hide_password=False)
    return urls


# --- log lines -------------------------------------------------------------------------------


def render_line(line: str, json_logs: bool = False) -> Text:
    """A service's JSON log record as ``time LEVEL message``; anything else as it came."""
    if json_logs or not line.startswith("{"):
        return Text(line)
    try:
        record = json.loads(line)
    except ValueError:
        return Text(line)
    if not isinstance(record, dict) or "message" not in record:
        return Text(line)
    level = str(record.get("level", ""))
    text = Text(f"{str(record.get('time', ''))[11:23]} ", style="dim")
    text.append(f"{level:<7} ", style=LEVEL_STYLES.get(level, ""))
    text.append(str(record["message"]))
    for key in ("exc_info", "stack_info"):
        if record.get(key):
            text.append("\n" + str(record[key]), style="red")
    return text


class PrefixedLog:
    """A line sink per service: its name in its own colour, then the rendered line."""

    def __init__(self, console: Console, names: list[str], json_logs: bool = False) -> None:
        self.console = console
        self.width = max((len(n) for n in names), default=0)
        self.colours = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(names)}
        self.json_logs = json_logs

    def __call__(self, name: str) -> LineSink:
        prefix = Text(f"{name:<{self.width}} | ", style=self.colours.get(name, "white"))

        def sink(line: str) -> None:
            self.console.print(prefix + render_line(line, self.json_logs), soft_wrap=True)

        return sink


# --- up --------------------------------------------------------------------------------------


class Up:
    """One run of `sinergi up`; :meth:`run` returns the exit code."""

    def __init__(self, options: UpOptions, console: Console) -> None:
        self.options = options
        self.console = console
        self.stop_requested = threading.Event()
        self._starting = False
        self._redis_pid: int | None = None

    def _signalled(self, signum: int, frame: FrameType | None) -> None:
        first = not self.stop_requested.is_set()
        self.stop_requested.set()
        if not first:
            return  # the stop is under way; interrupting it would leave processes behind
        self.console.print(f"[bold]{signal.Signals(signum).name}: stopping every service[/]")
        if self._starting:
            raise _Interrupted

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        previous = {s: signal.signal(s, self._signalled) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def run(self) -> int:
        o = self.options
        state_dir = o.state_dir.resolve()
        state_dir.mkdir(parents=True, exist_ok=True)
        with self._signals(), contextlib.ExitStack() as running:
            self._starting = True
            try:
                topology = self._topology(state_dir, running)
                supervisor = ProcessTopology(
                    topology,
                    sink=PrefixedLog(
                        self.console, [d.name for d in topology.services], o.json_logs
                    ),
                )
                started = time.monotonic()
                supervisor.start(on_ready=self._ready(topology))
            except _Interrupted:
                self.console.print("stopped before every service was ready")
                return 0
            finally:
                self._starting = False
            running.callback(_remove, state_dir / RUNNING_FILE)
            _write_running(state_dir / RUNNING_FILE, topology, supervisor, self._redis_pid)
            self._summary(topology, supervisor, time.monotonic() - started)
            failed = self._watch(supervisor)
            codes = supervisor.stop()
            unclean = {n: c for n, c in codes.items() if c != 0}
            for name, code in unclean.items():
                self.console.print(f"[red]✗[/] {name} exited with {code}")
            if not unclean and not failed:
                self.console.print("[green]✓[/] every service stopped cleanly")
            return 1 if failed or unclean else 0

    def _topology(self, state_dir: Path, running: contextlib.ExitStack) -> Topology:
        o = self.options
        redis_url = o.redis_url
        if redis_url is None:
            embedded = EmbeddedRedis()
            running.callback(embedded.stop)
            embedded.start()
            redis_url, self._redis_pid = embedded.url, embedded.pid
            self.console.print(f"[green]✓[/] embedded Redis ({embedded.binary}) at {redis_url}")
        else:
            self.console.print(f"[green]✓[/] Redis at {redis_url}")
        config = TopologyConfig(
            state_dir=state_dir,
            redis_url=redis_url,
            secrets=Secrets.load_or_create(state_dir / SECRETS_FILE),
            facility=o.facility,
            timezone=o.timezone,
            base_port=o.base_port,
            services=o.services,
            registry_population=o.registry_population,
        )
        topology = Topology(config)
        if o.database == "postgres":
            if not o.postgres_url:
                raise ValueError("--database postgres needs --postgres-url")
            names = [d.name for d in topology.services if d.database]
            urls = postgres_database_urls(o.postgres_url, names, o.postgres_prefix)
            topology = topology.replace(database_urls=urls)
            shown = ", ".join(make_url(u).database or "" for u in urls.values())
            self.console.print(f"[green]✓[/] PostgreSQL databases {shown}")
        else:
            self.console.print(f"[green]✓[/] SQLite databases in {state_dir}")
        return topology

    def _ready(self, topology: Topology) -> Any:
        def ready(name: str) -> None:
            self.console.print(f"[green]✓[/] {name} ready at {topology.url(name)}")

        return ready

    def _summary(self, topology: Topology, supervisor: ProcessTopology, took_s: float) -> None:
        table = Table(title=f"sinergi up: ready in {took_s:.1f} s")
        for column in ("service", "URL", "pid", "log"):
            table.add_column(column)
        pids = supervisor.pids()
        for definition in topology.services:
            name = definition.name
            table.add_row(name, topology.url(name), str(pids.get(name, "")), definition.log_file)
        self.console.print(table)
        s = topology.secrets
        exports = {
            "SINERGI_STAFF_KEY": s.staff_key,
            "SINERGI_REGISTRATION_KEY": s.registration_key,
            "SINERGI_REDIS_URL": topology.config.redis_url,
        }
        for definition in topology.services:
            if definition.platform:
                variable = f"SINERGI_{definition.name.upper().replace('-', '_')}_URL"
                exports[variable] = topology.url(definition.name)
        self.console.print(
            "API keys (kept in "
            f"{topology.config.state_dir / SECRETS_FILE}); for the other commands:",
            highlight=False,
        )
        for name, value in exports.items():
            self.console.print(f"  export {name}={value}", highlight=False, soft_wrap=True)
        self.console.print("Ctrl-C stops every service.")

    def _watch(self, supervisor: ProcessTopology) -> bool:
        """Until a signal (False) or a service that ended by itself (True)."""
        while not self.stop_requested.wait(0.5):
            ended = supervisor.exited()
            if ended:
                for name, code in ended.items():
                    self.console.print(f"[red]✗[/] {name} ended by itself (exit code {code})")
                return True
        return False


def _write_running(
    path: Path, topology: Topology, supervisor: ProcessTopology, redis_pid: int | None
) -> None:
    pids = supervisor.pids()
    running = {
        "pid": os.getpid(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "redis_url": topology.config.redis_url,
        "redis_pid": redis_pid,  # None: a Redis `up` did not start
        "services": {
            name: {
                "url": topology.url(name),
                "pid": pids.get(name),
                "log": str(topology.log_path(name)),
                "database_url": topology.database_url(name)
                if topology.definition(name).database
                else None,
            }
            for name in supervisor.processes
        },
    }
    path.write_text(json.dumps(running, indent=2) + "\n")


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def read_running(state_dir: Path) -> dict[str, Any]:
    """What a running `sinergi up` wrote about itself; empty when none runs there."""
    path = state_dir / RUNNING_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
