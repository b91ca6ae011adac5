"""A :class:`~services.cli.topology.Topology` run as child processes.

Waves start in order, each once the one before answers ``/health/ready``; a stop goes the
other way: SIGTERM to every process of the last wave, wait, then the wave before. Output
goes to ``<state_dir>/<service>.log`` and, when asked, to a callback per line (the coloured
prefixes of `sinergi up`).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Self

import httpx

from services.cli.processes import ChildProcess, LineSink, child_env
from services.cli.topology import READY_PATH, Topology

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 40.0  # compose's stop_grace_period

SinkFactory = Callable[[str], LineSink]


class ServiceFailedError(RuntimeError):
    def __init__(self, name: str, reason: str, tail: str) -> None:
        super().__init__(f"{name}: {reason}\n--- last lines of its log ---\n{tail}")
        self.name = name


class ProcessTopology:
    def __init__(
        self,
        topology: Topology,
        *,
        sink: SinkFactory | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.topology = topology
        self.sink = sink
        self.ready_timeout_s = ready_timeout_s
        self.processes: dict[str, ChildProcess] = {}
        self.exit_codes: dict[str, int | None] = {}

    # --- start ----------------------------------------------------------------------------

    def start(self, on_ready: Callable[[str], None] | None = None) -> Self:
        """Every wave spawned and ready; on a failure, what started is stopped again."""
        self.topology.config.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            for wave in self.topology.waves():
                for definition in wave:
                    self.spawn(definition.name)
                for definition in wave:
                    self.wait_ready(definition.name)
                    if on_ready is not None:
                        on_ready(definition.name)
        except BaseException:
            self.stop()
            raise
        return self

    def spawn(self, name: str, env_overrides: Mapping[str, str] | None = None) -> ChildProcess:
        definition = self.topology.definition(name)
        env = self.topology.environment(name) | dict(env_overrides or {})
        process = ChildProcess(
            [sys.executable, "-m", definition.module],
            log_path=self.topology.log_path(name),
            env=child_env(env | {"PYTHONUNBUFFERED": "1"}),
            on_line=self.sink(name) if self.sink is not None else None,
        )
        process.start()
        self.processes[name] = process
        self.exit_codes.pop(name, None)
        return process

    def wait_ready(self, name: str, timeout_s: float | None = None) -> None:
        process = self.processes[name]
        timeout_s = self.ready_timeout_s if timeout_s is None else timeout_s
        url = self.topology.url(name) + READY_PATH
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        with httpx.Client(timeout=2.0) as http:
            while True:
                try:
                    response = http.get(url)
                except httpx.TransportError as error:
                    last = type(error).__name__
                else:
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {_first_reason(response)}"
                if not process.alive():
                    reason = f"exited with {process.exit_code()} before it was ready"
                    raise ServiceFailedError(name, reason, process.log_tail())
                if time.monotonic() > deadline:
                    reason = f"not ready within {timeout_s:.0f} s ({last})"
                    raise ServiceFailedError(name, reason, process.log_tail())
                time.sleep(0.1)

    def restart(self, name: str, env_overrides: Mapping[str, str] | None = None) -> None:
        """Stop one service and start it again (the demo: a later pinned day)."""
        self.stop_service(name)
        self.spawn(name, env_overrides)
        self.wait_ready(name)

    # --- running --------------------------------------------------------------------------

    def pids(self) -> dict[str, int]:
        return {n: p.pid for n, p in self.processes.items() if p.pid is not None}

    def urls(self) -> dict[str, str]:
        return {name: self.topology.url(name) for name in self.processes}

    def exited(self) -> dict[str, int | None]:
        """Services that ended on their own, with their exit codes."""
        return {n: p.exit_code() for n, p in self.processes.items() if not p.alive()}

    # --- stop -----------------------------------------------------------------------------

    def stop_service(self, name: str, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        process = self.processes.pop(name, None)
        if process is None:
            return self.exit_codes.get(name)
        self.exit_codes[name] = code = process.stop(timeout_s)
        return code

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> dict[str, int | None]:
        """Later waves first; a wave's processes get SIGTERM together, then are waited for."""
        for wave in reversed(self.topology.waves()):
            running = [d.name for d in wave if d.name in self.processes]
            for name in running:
                self.processes[name].signal(signal.SIGTERM)
            for name in running:
                self.stop_service(name, timeout_s)
        return dict(self.exit_codes)

    def __enter__(self) -> Self:
        # `with ProcessTopology(t).start():` is started already: starting again would spawn
        # a second, orphaned copy of every service.
        return self if self.processes else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _first_reason(response: httpx.Response) -> str:
    try:
        return json.dumps(response.json())[:200]
    except ValueError:
        return response.text[:200]
