"""Real infrastructure for tests: Redis and PostgreSQL, never mocks.

Redis: see `redis_for_tests`.
PostgreSQL: `SINERGI_TEST_POSTGRES_URL` (default: the local server's `test` database);
each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import redis

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class RedisProcess:
    """A `redis-server` of the test's own, which the test may stop and start again."""

    def __init__(self, port: int | None = None, *, appendonly: bool = False) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sinergi-redis-"))
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        args += ["--save", "", "--appendonly", "yes" if self.appendonly else "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _answers(self.url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _docker_redis() -> Iterator[str] | None:
    try:
        from docker.errors import DockerException
        from testcontainers.community.redis import RedisContainer
    except ImportError:
        return None
    try:
        container = RedisContainer("redis:7-alpine")
        container.start()
    except (DockerException, FileNotFoundError, OSError):
        return None

    def urls() -> Iterator[str]:
        try:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"
        finally:
            container.stop()

    return urls()


@contextlib.contextmanager
def redis_for_tests() -> Iterator[str]:
    """A Redis URL for the whole run: `SINERGI_TEST_REDIS_URL`, else a container when a
    Docker engine answers, else a `redis-server` of the run's own (so parallel runs on one
    machine never flush each other's data), else the machine's Redis on 127.0.0.1:6379."""
    configured = os.environ.get("SINERGI_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    docker = _docker_redis()
    if docker is not None:
        yield from docker
        return
    if shutil.which("redis-server"):
        own = RedisProcess().start()
        try:
            yield own.url
        finally:
            own.close()
        return
    yield "redis://127.0.0.1:6379/0"


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped on exit."""
    admin_url = os.environ.get("SINERGI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    name = f"sinergi_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available() -> bool:
    try:
        url = os.environ.get("SINERGI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False
