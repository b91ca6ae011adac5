"""Services as real processes for end-to-end tests: start, wait until ready, stop, read logs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx


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
