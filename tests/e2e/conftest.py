"""The privacy scan over the whole e2e tier (see tests/privacy.py).

For the whole session: every HTTP answer with status >= 400 that a test receives through
httpx is scanned (error bodies), and every service's ``/metrics`` is scraped and scanned
right before the service is signalled to stop. After each test: every log file under the
test's ``tmp_path`` (where the services write their output) and every entry of every
stream in the test's Redis database, except entries the test process wrote itself (test
input, not service output). A NIK found fails the test that produced it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.cli.processes import ChildProcess
from tests.e2e.processes import ServiceProcess
from tests.privacy import PrivacyScanner, known_test_niks

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@pytest.fixture(scope="session")
def privacy_scan() -> Iterator[PrivacyScanner]:
    scanner = PrivacyScanner(known=known_test_niks())
    services: dict[str, float] = {}  # base URL -> when last scraped

    def seen(response: httpx.Response) -> None:
        url = response.request.url
        if url.host in _LOCAL_HOSTS and url.path != "/metrics":
            services.setdefault(f"{url.scheme}://{url.host}:{url.port}", 0.0)
        scanner.scan_response(response)

    def scrape_all() -> None:
        for base_url, last in list(services.items()):
            if time.monotonic() - last > 0.2:
                scanner.scrape_metrics(base_url)
                services[base_url] = time.monotonic()

    def planted(method: Any) -> Any:
        def xadd(self: Any, name: Any, *args: Any, **kwargs: Any) -> Any:
            entry_id = method(self, name, *args, **kwargs)
            if isinstance(entry_id, bytes | str):  # not a pipeline's queued command
                stream = name.decode() if isinstance(name, bytes) else str(name)
                entry = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                scanner.planted.add((stream, entry))
            return entry_id

        return xadd

    sync_send = httpx.Client.send
    async_send = httpx.AsyncClient.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = sync_send(self, request, **kwargs)
        if not kwargs.get("stream"):
            seen(response)
        return response

    async def asend(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        response = await async_send(self, request, **kwargs)
        if not kwargs.get("stream"):
            seen(response)
        return response

    def scraped_first(method: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            scrape_all()
            return method(self, *args, **kwargs)

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.Client, "send", send)
        patch.setattr(httpx.AsyncClient, "send", asend)
        patch.setattr(redis.Redis, "xadd", planted(redis.Redis.xadd))
        for cls, name in (
            (ChildProcess, "signal"),
            (ChildProcess, "stop"),
            (ServiceProcess, "stop"),
            (ServiceProcess, "kill"),
        ):
            patch.setattr(cls, name, scraped_first(getattr(cls, name)))
        yield scanner
    if report := os.environ.get("SINERGI_PRIVACY_REPORT"):
        counts = ", ".join(f"{kind}: {n}" for kind, n in sorted(scanner.scanned.items()))
        with Path(report).open("a", encoding="utf-8") as out:
            out.write(f"e2e: scanned {counts}; NIKs found: {len(scanner.leaks)}\n")


@pytest.fixture(autouse=True)
def no_nik_leaves_the_services(
    privacy_scan: PrivacyScanner, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[None]:
    before = len(privacy_scan.leaks)
    # Asked for here, so that the test's Redis database outlives this fixture's teardown.
    redis_url = (
        request.getfixturevalue("redis_url") if "redis_url" in request.fixturenames else None
    )
    yield
    privacy_scan.scan_logs_under(tmp_path)
    if redis_url is not None:
        client = redis.Redis.from_url(redis_url)
        try:
            privacy_scan.scan_streams(client)
        finally:
            client.close()
    privacy_scan.assert_clean(since=before)
