"""Each service's Redis user (deploy/redis/users.acl.in) is enough for its messaging, and no more.

A redis-server of the test's own loads the ACL file that the real render-acl.sh writes. Each
service then runs its real delivery plumbing as its own user: the outbox relay, its readers
on the streams it subscribes to (batches, retries, reclaims, dead letters), the lag monitor,
retention; the operators' `sinergi deadletters` works as `ops`; and what a service must not
do is refused.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, NoPermissionError
from sqlmodel import Session
from typer.testing import CliRunner

from services.cli.main import app as cli
from shared.config import PlatformSettings
from shared.messaging import Delivery, PermanentEventError, Subscription
from shared.messaging.connection import connect
from shared.messaging.deadletters import list_dead_letters
from shared.messaging.outbox import add_to_outbox
from shared.messaging.retention import trim_stream
from shared.messaging.runtime import MessagingRuntime
from shared.messaging.streams import DEADLETTER_STREAM
from shared.observability.metrics import Metrics
from tests.integration.deployment.support import (
    AclRedis,
    MessagingService,
    acl_password_variables,
    messaging_services,
    render_acl,
)
from tests.integration.messaging.readmodel import create_database, session_event, xadd_events

SERVICES = messaging_services()
SERVICE_USERS = {service.name for service in SERVICES}


@pytest.fixture
async def admin(acl_redis: AclRedis) -> AsyncIterator[aioredis.Redis]:
    client = acl_redis.client("admin")
    await client.flushall()
    try:
        yield client
    finally:
        await client.aclose()


def _handler(refused: str, flaky: str) -> Callable[[Sequence[Delivery]], None]:
    def handle(deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            if delivery.event.subject == refused:
                raise PermanentEventError("refused_in_test", "this event can never apply")
            if delivery.event.subject == flaky:
                raise RuntimeError("fails on every delivery")

    return handle


async def _eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 20
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _owner(stream: str) -> str:
    return stream.removeprefix("sinergi.")


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_a_service_runs_all_its_messaging_as_its_own_redis_user(
    service: MessagingService,
    acl_redis: AclRedis,
    admin: aioredis.Redis,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="shared.messaging")
    engine = create_database(f"sqlite:///{tmp_path / 'service.db'}")
    own = acl_redis.client(service.name)
    settings = PlatformSettings(
        redis_url=acl_redis.url(service.name),
        consumer_name=f"{service.name}-acl-test",
        block_ms=50,
        claim_idle_ms=400,
        claim_interval_s=0.1,
        max_deliveries=2,
        monitor_interval_s=0.05,
        trim_interval_s=0.05,
    )
    handler = _handler(refused="refused", flaky="flaky")
    runtime = MessagingRuntime(
        service=service.name,
        settings=settings,
        redis=own,
        engine=engine,
        metrics=Metrics(service.name),
        subscriptions=[
            Subscription(stream, service.name, handler) for stream in service.subscribed
        ],
        owned_streams=[service.owned_stream] if service.owned_stream else [],
    )
    # Each stream's owner publishes on it, as its own user.
    for stream in service.subscribed:
        publisher = acl_redis.client(_owner(stream))
        try:
            events = [session_event(subject, 1) for subject in ("ok-1", "refused", "ok-2", "flaky")]
            await xadd_events(publisher, events, stream=stream)
            await publisher.xadd(stream, {"not-an-event": b"1"})
        finally:
            await publisher.aclose()
    if service.owned_stream:
        with Session(engine) as session, session.begin():
            add_to_outbox(session, service.owned_stream, [session_event("published", 1)])

    await runtime.start()
    try:
        expected_dead = 3 * len(service.subscribed)  # refused, flaky (retried), not an event
        await _eventually(
            lambda: _dead_letters(admin, expected_dead), f"{expected_dead} dead letters"
        )
        if service.owned_stream:
            stream = service.owned_stream
            await _eventually(lambda: _length(admin, stream, 1), "the outbox event published")
        await runtime.measure()
        for stream in service.subscribed:
            state = runtime.group_states[(stream, service.name)]
            assert (state.lag, state.pending) == (0, 0)
            # Read-model rebuilds read the source streams from the start.
            assert len(await own.xrange(stream) or []) == 5
            # What the lag monitor does for consumer names of replicas long gone.
            assert await own.xgroup_delconsumer(stream, service.name, "gone-replica") == 0
        if service.owned_stream:
            assert await trim_stream(own, service.owned_stream, retention_ms=0) == 1
        checks = runtime.readiness_checks()
        results = {name: await check() for name, check in checks.items()}
        assert all(result.ok for result in results.values()), results
    finally:
        await runtime.close()
    letters = await list_dead_letters(admin, count=100)
    reasons = sorted((letter.stream, letter.reason_code) for letter in letters)
    assert reasons == sorted(
        (stream, code)
        for stream in service.subscribed
        for code in ("refused_in_test", "max_deliveries", "no_event_field")
    )
    # The failure bookkeeping of a dead-lettered entry is cleared.
    assert await admin.keys(f"{DEADLETTER_STREAM}.*") == []
    denied = [record.getMessage() for record in caplog.records if "NOPERM" in record.getMessage()]
    assert denied == []


async def _dead_letters(client: aioredis.Redis, n: int) -> bool:
    return int(await client.xlen(DEADLETTER_STREAM)) >= n


async def _length(client: aioredis.Redis, stream: str, n: int) -> bool:
    return int(await client.xlen(stream)) >= n


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_a_service_user_is_refused_what_its_service_never_does(
    service: MessagingService, acl_redis: AclRedis, admin: aioredis.Redis
) -> None:
    others = sorted(SERVICE_USERS - {service.name})
    for other in others:
        await admin.xadd(f"sinergi.{other}", {"__data__": b"{}"})
    client = acl_redis.client(service.name)
    try:
        # Publishing on another service's stream, even one it reads.
        for other in others:
            with pytest.raises(NoPermissionError):
                await client.xadd(f"sinergi.{other}", {"__data__": b"{}"})
            # Another group's failure bookkeeping.
            with pytest.raises(NoPermissionError):
                await client.hincrby(f"{DEADLETTER_STREAM}.failures.{other}", "1-0", 1)
        # Dead letters are appended, never deleted by a service.
        with pytest.raises(NoPermissionError):
            await client.xdel(DEADLETTER_STREAM, "1-0")
        for command in (("FLUSHALL",), ("CONFIG", "GET", "*"), ("KEYS", "*"), ("SET", "k", "v")):
            with pytest.raises(NoPermissionError):
                await client.execute_command(*command)  # type: ignore[no-untyped-call]
        with pytest.raises(NoPermissionError):
            await client.execute_command("ACL", "LIST")  # type: ignore[no-untyped-call]
    finally:
        await client.aclose()


async def test_redis_refuses_a_client_without_a_user_or_with_a_wrong_password(
    acl_redis: AclRedis,
) -> None:
    anonymous = acl_redis.client()
    try:
        # NOAUTH "Authentication required", or, when the client opens with HELLO (RESP3),
        # "HELLO must be called with the client already authenticated"
        with pytest.raises(AuthenticationError, match=r"required|already authenticated"):
            await anonymous.ping()
    finally:
        await anonymous.aclose()
    wrong = connect(f"redis://programs:{secrets.token_hex(8)}@127.0.0.1:{acl_redis.port}/0")
    try:
        with pytest.raises(AuthenticationError, match="invalid username-password"):
            await wrong.ping()
    finally:
        await wrong.aclose()


def test_operators_list_and_replay_dead_letters_as_the_ops_user(acl_redis: AclRedis) -> None:
    # Synchronous: the CLI runs its own event loop.
    admin = redis.Redis.from_url(acl_redis.url("admin"))
    admin.flushall()
    stream = "sinergi.agreements"
    admin.xadd(
        DEADLETTER_STREAM,
        {
            "__data__": session_event("replayed", 1).to_json(),
            "stream": stream,
            "group": "programs",
            "entry_id": "1-0",
            "reason_code": "max_deliveries",
            "reason": "failed in a test",
            "deliveries": 5,
            "service": "programs",
            "dead_lettered_at": "2026-01-01T00:00:00+00:00",
        },
    )
    runner = CliRunner()
    url = acl_redis.url("ops")

    listed = runner.invoke(cli, ["deadletters", "list", "--redis-url", url])
    replayed = runner.invoke(cli, ["deadletters", "replay", "--all", "--redis-url", url])

    assert listed.exit_code == 0, listed.output
    assert "max_deliveries" in listed.output
    assert replayed.exit_code == 0, replayed.output
    assert "1 dead letters replayed" in replayed.output
    assert admin.xlen(DEADLETTER_STREAM) == 0
    assert admin.xlen(stream) == 1
    admin.close()
    ops = redis.Redis.from_url(url)
    try:
        with pytest.raises(NoPermissionError):
            ops.execute_command("FLUSHALL")  # type: ignore[no-untyped-call]
        with pytest.raises(NoPermissionError):
            ops.hset(f"{DEADLETTER_STREAM}.failures.programs", "1-0", 1)
    finally:
        ops.close()


def test_the_rendered_acl_file_holds_hashes_never_passwords(tmp_path: Path) -> None:
    passwords = {name: secrets.token_hex(16) for name in acl_password_variables()}

    rendered = render_acl(tmp_path / "users.acl", passwords)

    assert rendered.returncode == 0, rendered.stderr
    text = (tmp_path / "users.acl").read_text()
    assert not any(password in text for password in passwords.values())
    assert "{{" not in text and "\n#" not in text
    assert oct((tmp_path / "users.acl").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("value", ["", "change-me"])
def test_redis_does_not_start_on_a_missing_or_example_password(tmp_path: Path, value: str) -> None:
    passwords = {name: secrets.token_hex(16) for name in acl_password_variables()}
    passwords["REDIS_PROGRAMS_PASSWORD"] = value

    rendered = render_acl(tmp_path / "users.acl", passwords)

    assert rendered.returncode != 0
    assert "REDIS_PROGRAMS_PASSWORD" in rendered.stderr
    assert not (tmp_path / "users.acl").exists()
