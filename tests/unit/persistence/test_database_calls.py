import asyncio
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine

from shared.persistence.calls import DatabaseCalls


def which_thread(label: str) -> tuple[str, int]:
    return label, threading.get_ident()


async def test_sqlite_work_runs_on_the_event_loop_itself() -> None:
    calls = DatabaseCalls(create_engine("sqlite://"))

    label, thread = await calls(which_thread, "sqlite")

    assert calls.inline
    assert (label, thread) == ("sqlite", threading.get_ident())


async def test_postgresql_work_goes_to_the_offload_with_its_arguments() -> None:
    offloaded: list[str] = []

    async def offload(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        offloaded.append(work.__name__)
        return await asyncio.to_thread(work, *args, **kwargs)

    engine = create_engine("postgresql+psycopg://sinergi@localhost/never-connected")
    calls = DatabaseCalls(engine, offload)

    label, thread = await calls(which_thread, label="postgresql")

    assert not calls.inline
    assert offloaded == ["which_thread"]
    assert label == "postgresql"
    assert thread != threading.get_ident()
