"""`sinergi deadletters list/replay` against a real Redis."""

from __future__ import annotations

from typing import cast

import redis
from typer.testing import CliRunner

from services.cli.main import app
from shared.messaging.deadletters import dead_letter_fields
from shared.messaging.streams import DEADLETTER_STREAM, ENTRY_FIELD

runner = CliRunner()


def _dead_letter(client: redis.Redis, stream: str, body: bytes) -> str:
    fields = dead_letter_fields(
        stream=stream,
        group="agreements",
        entry_id="1700000000000-0",
        body=body,
        reason_code="rejected",
        reason="agreement x has no action plan item y",
        deliveries=5,
        service="agreements",
    )
    return cast(bytes, client.xadd(DEADLETTER_STREAM, fields)).decode()  # type: ignore[arg-type]


def _entries(client: redis.Redis, stream: str) -> list[tuple[str, dict[bytes, bytes]]]:
    replies = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(stream))
    return [(entry_id.decode(), fields) for entry_id, fields in replies]


def test_list_shows_the_dead_letters(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    dead_id = _dead_letter(client, "sinergi.programs", b'{"id": "e1"}')

    result = runner.invoke(app, ["deadletters", "list", "--redis-url", redis_url])

    assert result.exit_code == 0, result.output
    for text in (dead_id, "sinergi.programs", "agreements", "rejected", "no action plan item"):
        assert text in result.output
    filtered = runner.invoke(
        app, ["deadletters", "list", "--redis-url", redis_url, "--stream", "sinergi.identity"]
    )
    assert dead_id not in filtered.output


def test_replay_puts_the_entry_back_on_its_stream(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    dead_id = _dead_letter(client, "sinergi.programs", b'{"id": "e1"}')

    result = runner.invoke(app, ["deadletters", "replay", dead_id, "--redis-url", redis_url])

    assert result.exit_code == 0, result.output
    assert f"replayed {dead_id}" in result.output
    assert client.xlen(DEADLETTER_STREAM) == 0
    [(_, fields)] = _entries(client, "sinergi.programs")
    assert fields[ENTRY_FIELD.encode()] == b'{"id": "e1"}'


def test_replay_all_of_one_stream(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for n in range(3):
        _dead_letter(client, "sinergi.programs", f'{{"id": "p{n}"}}'.encode())
    kept = _dead_letter(client, "sinergi.identity", b'{"id": "i1"}')

    result = runner.invoke(
        app,
        [
            "deadletters",
            "replay",
            "--all",
            "--stream",
            "sinergi.programs",
            "--redis-url",
            redis_url,
        ],
    )

    assert result.exit_code == 0, result.output
    assert "3 dead letters replayed" in result.output
    assert client.xlen("sinergi.programs") == 3
    assert [entry_id for entry_id, _ in _entries(client, DEADLETTER_STREAM)] == [kept]


def test_replay_of_an_unknown_id_fails(redis_url: str) -> None:
    result = runner.invoke(app, ["deadletters", "replay", "1-0", "--redis-url", redis_url])
    assert result.exit_code == 1
    assert "no dead letter 1-0" in result.output
