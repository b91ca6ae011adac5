"""`sinergi deadletters`: list the dead-letter stream and put entries back on their stream."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shared.messaging.connection import connect
from shared.messaging.deadletters import DeadLetter, list_dead_letters, replay

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REPLAY_ALL_LIMIT = 100_000

app = typer.Typer(help="Dead letters: events a consumer could not apply.", no_args_is_help=True)

RedisUrl = Annotated[
    str,
    typer.Option("--redis-url", envvar="SINERGI_REDIS_URL", help="Redis holding the streams."),
]
StreamFilter = Annotated[
    str | None, typer.Option("--stream", help="Only dead letters from this stream.")
]


async def _list(url: str, count: int, stream: str | None) -> list[DeadLetter]:
    redis = connect(url)
    try:
        return await list_dead_letters(redis, count=count, stream=stream)
    finally:
        await redis.aclose()


async def _replay(url: str, ids: list[str] | None, stream: str | None) -> list[tuple[str, str]]:
    """Replays ``ids``, or every dead letter (of ``stream``) when ``ids`` is None."""
    redis = connect(url)
    try:
        if ids is None:
            letters = await list_dead_letters(redis, count=REPLAY_ALL_LIMIT, stream=stream)
            ids = [letter.id for letter in letters]
        return [(dead_id, await replay(redis, dead_id)) for dead_id in ids]
    finally:
        await redis.aclose()


def letters_table(letters: list[DeadLetter]) -> Table:
    table = Table(title=f"Dead letters ({len(letters)})")
    for column in ("id", "stream", "group", "entry id", "reason code", "reason"):
        table.add_column(column, overflow="fold")
    table.add_column("deliveries", justify="right")
    table.add_column("when")
    for letter in letters:
        table.add_row(
            letter.id,
            letter.stream,
            letter.group,
            letter.entry_id,
            letter.reason_code,
            letter.reason,
            str(letter.deliveries),
            letter.dead_lettered_at,
        )
    return table


@app.command("list")
def list_command(
    redis_url: RedisUrl = DEFAULT_REDIS_URL,
    stream: StreamFilter = None,
    count: Annotated[int, typer.Option("--count", min=1, help="At most this many.")] = 100,
) -> None:
    """List dead letters, oldest first."""
    letters = asyncio.run(_list(redis_url, count, stream))
    Console(width=200 if not Console().is_terminal else None).print(letters_table(letters))


@app.command("replay")
def replay_command(
    dead_letter_id: Annotated[
        str | None, typer.Argument(metavar="ID", help="The dead letter's id (see list).")
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead letter.")] = False,
    stream: StreamFilter = None,
    redis_url: RedisUrl = DEFAULT_REDIS_URL,
) -> None:
    """Put a dead letter (or all of them) back on its stream and drop it from the list."""
    if (dead_letter_id is None) == (not replay_all):
        raise typer.BadParameter("give one dead letter ID, or --all")
    if stream is not None and not replay_all:
        raise typer.BadParameter("--stream filters --all only")
    ids = None if replay_all else [dead_letter_id or ""]
    try:
        replayed = asyncio.run(_replay(redis_url, ids, stream))
    except KeyError as missing:
        typer.echo(f"no dead letter {missing.args[0]}", err=True)
        raise typer.Exit(1) from None
    for dead_id, new_id in replayed:
        typer.echo(f"replayed {dead_id} as {new_id}")
    typer.echo(f"{len(replayed)} dead letters replayed")
