"""A subscriber in another language (`examples/node-subscriber/`, Node.js with ioredis and
ajv) reads Sinergi streams through a consumer group, validating against the checked-in
JSON Schemas: the Barabai agreements as the real service publishes them, every event type
through the real outbox relay, and an invalid entry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis
import redis.asyncio as aioredis
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from services.cli.agreements_client import AgreementsClient
from services.cli.agreements_service import AgreementsService, ServiceConfig
from services.cli.loading import load
from services.cli.scenario import DEFAULT_SCENARIO, load_scenario
from shared.events.catalogue import CATALOGUE
from shared.events.envelope import CloudEvent
from shared.events.examples import example_event, example_events
from shared.messaging import ENTRY_FIELD, OutboxRelay, add_to_outbox, stream_of
from shared.messaging.connection import connect
from shared.messaging.outbox import outbox
from shared.observability.metrics import Metrics
from shared.persistence.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBER_DIR = ROOT / "examples" / "node-subscriber"
STREAMS = [stream_of(service) for service in ("agreements", "programs", "identity")]
GROUP = "reporting"
# Shaped like a NIK, in a field that rejects it: it must not come back in any report.
NIK_LIKE = "6307041203850001"


@pytest.fixture(scope="module")
def node() -> str:
    """`node`, with the example's packages installed; missing node fails in CI, else skips."""
    binary = shutil.which("node")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("node is not on PATH; CI must run the Node.js subscriber")
        pytest.skip("node is not on PATH")
    if not (SUBSCRIBER_DIR / "node_modules" / ".installed").exists():
        npm = shutil.which("npm")
        assert npm is not None, "npm is needed to install examples/node-subscriber"
        command = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
        subprocess.run(command, cwd=SUBSCRIBER_DIR, check=True, timeout=300)
        (SUBSCRIBER_DIR / "node_modules" / ".installed").touch()
    return binary


def subscribe(node: str, redis_url: str, streams: list[str]) -> tuple[int, dict[str, Any], str]:
    """Run the subscriber until the streams are drained: exit code, summary, stderr."""
    command = [node, str(SUBSCRIBER_DIR / "subscriber.mjs"), "--redis-url", redis_url]
    for stream in streams:
        command += ["--stream", stream]
    command += ["--group", GROUP, "--consumer", "e2e-1", "--until-drained", "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode in (0, 1), result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, summary, result.stderr


def pending(redis_url: str, stream: str) -> list[str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        entries = client.xpending_range(stream, GROUP, min="-", max="+", count=100)
        return [str(entry["message_id"]) for entry in entries]
    finally:
        client.close()


def stream_types(redis_url: str, stream: str) -> list[str]:
    client = redis.Redis.from_url(redis_url)
    try:
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(stream))
        return [json.loads(fields[ENTRY_FIELD.encode()])["type"] for _, fields in entries]
    finally:
        client.close()


@pytest.fixture
def outbox_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    SQLModel.metadata.create_all(engine, tables=[outbox])
    try:
        yield engine
    finally:
        engine.dispose()


async def relay(engine: Engine, redis_url: str, events: list[CloudEvent]) -> None:
    """Commit `events` to the outbox, each to its service's stream, and relay them."""
    with Session(engine) as session:
        session.begin()
        for event in events:
            add_to_outbox(session, stream_of(event.source.removeprefix("sinergi/")), [event])
        session.commit()
    client: aioredis.Redis = connect(redis_url)
    try:
        outbox_relay = OutboxRelay(engine, client, Metrics("node-subscriber-test"))
        while await outbox_relay.publish_pending():
            pass
    finally:
        await client.aclose()


def test_a_node_subscriber_validates_and_acknowledges_the_barabai_agreements_as_published(
    node: str, redis_url: str, tmp_path: Path
) -> None:
    scenario = load_scenario(DEFAULT_SCENARIO)
    config = ServiceConfig.fresh_port(
        tmp_path, redis_url, scenario.facility.code, scenario.facility.timezone, "e2e-staff-key-0"
    )
    service = AgreementsService(config)
    service.start(max(agreement.signed_on for agreement in scenario.agreements))
    try:
        with AgreementsClient(config.base_url, config.api_key) as client:
            load(client, scenario, lambda _: None)
    finally:
        # Stopping flushes the outbox: every event of the load is on the stream afterwards.
        assert service.stop() == 0
    published = stream_types(redis_url, "sinergi.agreements")
    assert len(published) >= 3 * len(scenario.agreements)

    code, summary, stderr = subscribe(node, redis_url, ["sinergi.agreements"])

    assert code == 0, stderr
    assert summary["invalid"] == 0, summary["invalid_entries"]
    assert summary["read"] == summary["valid"] == summary["acked"] == len(published)
    assert summary["by_type"]["sinergi.agreement.signed"] == published.count(
        "sinergi.agreement.signed"
    )
    assert pending(redis_url, "sinergi.agreements") == []


async def test_every_event_type_relayed_through_the_outbox_is_valid_for_a_node_subscriber(
    node: str, redis_url: str, outbox_engine: Engine
) -> None:
    await relay(outbox_engine, redis_url, example_events())

    code, summary, stderr = subscribe(node, redis_url, STREAMS)

    assert code == 0, stderr
    assert summary["read"] == summary["valid"] == summary["acked"] == len(CATALOGUE)
    assert summary["by_type"] == {event_type: 1 for event_type, _ in CATALOGUE}
    assert all(pending(redis_url, stream) == [] for stream in STREAMS)


async def test_a_node_subscriber_reports_an_invalid_event_and_leaves_it_pending(
    node: str, redis_url: str, outbox_engine: Engine
) -> None:
    valid = example_event("sinergi.inmate.admitted", 1)
    wrong = json.loads(example_event("sinergi.inmate.released", 1).to_json())
    wrong["data"]["inmate"]["category"] = NIK_LIKE
    await relay(outbox_engine, redis_url, [valid])
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        wrong_id = str(client.xadd("sinergi.identity", {ENTRY_FIELD: json.dumps(wrong)}))
        client.xadd("sinergi.identity", {ENTRY_FIELD: "not json"})
    finally:
        client.close()

    code, summary, stderr = subscribe(node, redis_url, ["sinergi.identity"])

    assert code == 1
    assert (summary["valid"], summary["acked"], summary["invalid"]) == (1, 1, 2)
    reported = {entry["code"]: entry for entry in summary["invalid_entries"]}
    assert reported.keys() == {"invalid_event", "invalid_entry"}
    assert reported["invalid_event"]["id"] == wrong_id
    assert reported["invalid_event"]["type"] == "sinergi.inmate.released"
    assert any("/data/inmate/category" in error for error in reported["invalid_event"]["errors"])
    assert NIK_LIKE not in stderr + json.dumps(summary)
    assert len(pending(redis_url, "sinergi.identity")) == 2
    assert wrong_id in pending(redis_url, "sinergi.identity")
