"""Services for end-to-end tests: start, wait until ready, stop, read logs.

:func:`running_topology` is the whole topology of :mod:`services.cli.topology`, run by
compose.yaml through testcontainers when a Docker engine answers, else as processes (as
`sinergi up` runs it); a test talks to either through :class:`RunningServices`.
:class:`ServiceProcess` is one service as a process, for tests that need only that.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx

from services.cli.supervisor import ProcessTopology
from services.cli.topology import Topology, TopologyConfig

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
TOPOLOGY_VARIABLE = "SINERGI_E2E_TOPOLOGY"  # compose or processes: overrides the choice
CONTAINER_PORT = 8000
TopologyKind = Literal["compose", "processes"]


class ServiceProcess:
    """``python -m <module>`` with its own environment; stdout and stderr go to files.

    Inherited ``SINERGI_*`` variables are dropped, so only ``env`` configures the service.
    """

    def __init__(
        self,
        module: str,
        *,
        port: int,
        env: Mapping[str, str],
        log_dir: Path,
        host: str = "127.0.0.1",
    ) -> None:
        self.module = module
        self.base_url = f"http://{host}:{port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
        self.env.update({"SINERGI_HTTP_HOST": host, "SINERGI_HTTP_PORT": str(port), **env})
        self.env["PYTHONUNBUFFERED"] = "1"
        name = module.rsplit(".", 1)[-1]
        self.stdout_path = log_dir / f"{name}.stdout.log"
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    def start(self) -> ServiceProcess:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 30.0, path: str = "/health/ready") -> None:
        """Poll ``path`` until it answers 200; fail early if the process dies."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.running:
                raise AssertionError(f"{self.module} exited early:\n{self.tail()}")
            try:
                response = httpx.get(self.base_url + path, timeout=2.0)
            except httpx.HTTPError as error:
                last = type(error).__name__
            else:
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            time.sleep(0.1)
        raise AssertionError(f"{self.module} not ready after {timeout}s ({last}):\n{self.tail()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; a process still alive after ``timeout`` is killed and fails."""
        if self.process is None:
            raise RuntimeError("not started")
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(
                    f"{self.module} ignored SIGTERM for {timeout}s:\n{self.tail()}"
                ) from None
        self.returncode = self.process.returncode
        return self.returncode

    def kill(self) -> None:
        if self.running and self.process is not None:
            self.process.kill()
            self.process.wait()

    def stdout_lines(self) -> list[str]:
        return self.stdout_path.read_text(errors="replace").splitlines()

    def logs(self) -> list[dict[str, Any]]:
        """stdout parsed as JSON lines; a line that is not a JSON object fails."""
        records = []
        for number, line in enumerate(self.stdout_lines(), 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise AssertionError(f"stdout line {number} is not JSON: {line!r}") from None
            assert isinstance(record, dict), f"stdout line {number} is not an object: {line!r}"
            records.append(record)
        return records

    def tail(self, lines: int = 30) -> str:
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)


@contextlib.contextmanager
def service_process(
    module: str, *, port: int, env: Mapping[str, str], log_dir: Path, ready_timeout: float = 30.0
) -> Iterator[ServiceProcess]:
    """A started, ready service; killed on the way out if the test did not stop it."""
    service = ServiceProcess(module, port=port, env=env, log_dir=log_dir).start()
    try:
        service.wait_ready(ready_timeout)
        yield service
    finally:
        service.kill()


def json_env(value: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(value))


# --- the whole topology ----------------------------------------------------------------------


class RunningServices(Protocol):
    kind: TopologyKind

    def url(self, name: str) -> str: ...

    def stop(self, name: str, timeout: float = 30.0) -> int:
        """SIGTERM (``docker compose stop``) and wait; returns the exit code."""
        ...

    def logs(self, name: str) -> list[dict[str, Any]]:
        """The service's stdout as JSON records; a line that is not one fails."""
        ...

    def tail(self, name: str) -> str: ...


def docker_engine_answers(timeout: float = 10.0) -> bool:
    """``docker info`` succeeds: a client and an engine that answers it."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info"], capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def choose_topology(
    environ: Mapping[str, str], engine_answers: Callable[[], bool] = docker_engine_answers
) -> TopologyKind:
    """``SINERGI_E2E_TOPOLOGY`` when set; else compose if a Docker engine answers."""
    forced = environ.get(TOPOLOGY_VARIABLE, "").strip().lower()
    if forced in ("compose", "processes"):
        return "compose" if forced == "compose" else "processes"
    if forced:
        raise ValueError(f"{TOPOLOGY_VARIABLE} is compose or processes, not {forced!r}")
    return "compose" if engine_answers() else "processes"


def parse_json_lines(lines: Sequence[str], what: str) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"{what} line {number} is not JSON: {line!r}") from None
        assert isinstance(record, dict), f"{what} line {number} is not an object: {line!r}"
        records.append(record)
    return records


class ProcessServices:
    kind: TopologyKind = "processes"

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.processes = ProcessTopology(topology)

    def url(self, name: str) -> str:
        return self.topology.url(name)

    def stop(self, name: str, timeout: float = 30.0) -> int:
        code = self.processes.stop_service(name, timeout)
        assert code is not None, f"{name} was not running"
        return code

    def logs(self, name: str) -> list[dict[str, Any]]:
        lines = self.topology.log_path(name).read_text(errors="replace").splitlines()
        return parse_json_lines(lines, f"{name} output")

    def tail(self, name: str) -> str:
        path = self.topology.log_path(name)
        with contextlib.suppress(OSError):
            return f"--- {path.name}\n" + "\n".join(path.read_text().splitlines()[-30:])
        return ""


def required_compose_variables(compose_text: str) -> set[str]:
    """The ``${NAME:?...}`` variables compose.yaml refuses to start without."""
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?", compose_text))


def compose_env_file(topology: Topology, compose_text: str) -> str:
    """The topology's values, and a random one for every other required variable (passwords)."""
    values = topology.compose_variables()
    for name in sorted(required_compose_variables(compose_text) - values.keys()):
        values[name] = secrets.token_hex(16)
    # Single quotes: compose takes the JSON values literally, without interpolation.
    return "".join(f"{name}='{value}'\n" for name, value in values.items())


class ComposeServices:
    """compose.yaml (plus an override with the test's settings) through testcontainers."""

    kind: TopologyKind = "compose"

    def __init__(self, topology: Topology, workdir: Path) -> None:
        from testcontainers.compose import DockerCompose

        self.topology = topology
        env_file = workdir / "compose.env"
        env_file.write_text(compose_env_file(topology, COMPOSE_FILE.read_text()))
        env_file.chmod(0o600)
        override = workdir / "compose.override.yaml"
        override.write_text(json.dumps(topology.compose_override(), indent=2))  # JSON is YAML
        names = [d.name for d in topology.services]
        self.compose = DockerCompose(
            context=ROOT,
            compose_file_name=[str(COMPOSE_FILE), str(override)],
            env_file=str(env_file),
            profiles=["stand-in"] if "civil-registry" in names else None,
            services=names,
            build=True,
            wait=True,
        )

    def start(self) -> ComposeServices:
        self.compose.start()
        return self

    def close(self) -> None:
        self.compose.stop(down=True)

    def _command(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.compose.compose_command_property, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def url(self, name: str) -> str:
        host, port = self.compose.get_service_host_and_port(name, CONTAINER_PORT)
        if host in (None, "", "0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    def stop(self, name: str, timeout: float = 30.0) -> int:
        self._command("stop", "--timeout", str(int(timeout)), name, timeout=timeout + 30)
        container = self.compose.get_container(name, include_all=True)
        assert container.ExitCode is not None, f"{name} has no exit code"
        return int(container.ExitCode)

    def _stdout(self, name: str) -> list[str]:
        return self._command("logs", "--no-log-prefix", "--no-color", name).stdout.splitlines()

    def logs(self, name: str) -> list[dict[str, Any]]:
        return parse_json_lines(self._stdout(name), f"{name} stdout")

    def tail(self, name: str) -> str:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            return f"--- {name}\n" + "\n".join(self._stdout(name)[-30:])
        return ""


@contextlib.contextmanager
def running_topology(
    config: TopologyConfig, kind: TopologyKind | None = None
) -> Iterator[RunningServices]:
    """Every service of ``config`` started and ready; all stopped (or removed) afterwards.

    The process path runs on ``config.redis_url`` and SQLite in ``config.state_dir``; the
    compose path brings its own Redis and PostgreSQL and takes only the settings.
    """
    kind = kind or choose_topology(os.environ)
    topology = Topology(config)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    if kind == "compose":
        composed = ComposeServices(topology, config.state_dir)
        try:
            yield composed.start()
        finally:
            composed.close()
        return
    processes = ProcessServices(topology)
    processes.processes.start()
    try:
        yield processes
    finally:
        for process in processes.processes.processes.values():
            process.signal(signal.SIGKILL)
        processes.processes.stop(timeout_s=10)
