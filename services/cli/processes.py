"""Child processes of the command line: start, watch, stop with SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

LineSink = Callable[[str], None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChildProcess:
    """A process with its output appended to ``log_path``; it outlives us only if asked.

    With ``on_line``, every output line also goes to that callback (from a reader thread),
    which is how `sinergi up` shows each service's log with its coloured prefix.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        log_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        on_line: LineSink | None = None,
    ) -> None:
        self.args = list(args)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.on_line = on_line
        self.returncode: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None
        self._terminating = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        if self.on_line is not None:
            self._start_piped(self.on_line)
            return
        log = self.log_path.open("ab") if self.log_path is not None else subprocess.DEVNULL
        try:
            self._process = self._popen(log)
            self._terminating = False
        finally:
            if not isinstance(log, int):
                log.close()

    def _popen(self, stdout: IO[bytes] | int) -> subprocess.Popen[bytes]:
        # A session of its own: Ctrl-C on our terminal reaches us, and we stop it in order.
        return subprocess.Popen(
            self.args,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _start_piped(self, on_line: LineSink) -> None:
        process = self._popen(subprocess.PIPE)
        self._process = process
        self._terminating = False
        assert process.stdout is not None
        self._pump = threading.Thread(
            target=_pump_lines,
            args=(process.stdout, self.log_path, on_line),
            name=f"output of pid {process.pid}",
            daemon=True,
        )
        self._pump.start()

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def exit_code(self) -> int | None:
        """The exit code once the process has ended (None while it runs)."""
        if self._process is None:
            return self.returncode
        return self._process.poll()

    def signal(self, signum: int) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signum)
            self._terminating = self._terminating or signum == signal.SIGTERM

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout_s``; returns the exit code."""
        process, self._process = self._process, None
        if process is None:
            return self.returncode
        if process.poll() is None:
            # A second SIGTERM would make uvicorn skip its graceful stop.
            if not self._terminating:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
        self.returncode = process.wait()
        if self._pump is not None:
            self._pump.join(timeout=5)
            self._pump = None
        return self.returncode

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _pump_lines(stream: IO[bytes], log_path: Path | None, on_line: LineSink) -> None:
    log = log_path.open("ab") if log_path is not None else None
    try:
        for raw in iter(stream.readline, b""):
            if log is not None:
                log.write(raw)
                log.flush()
            # A sink that fails (a closed terminal) must not stop the log file.
            with contextlib.suppress(Exception):
                on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    finally:
        stream.close()
        if log is not None:
            log.close()


def child_env(overrides: Mapping[str, str], drop_prefix: str = "SINERGI_") -> dict[str, str]:
    """Our environment without inherited ``SINERGI_*`` settings, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop_prefix)}
    env.update(overrides)
    return env
