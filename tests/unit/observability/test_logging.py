import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from _pytest.logging import LogCaptureHandler

from shared.observability.logging import (
    UVICORN_ACCESS_LOGGER,
    UVICORN_LOGGERS,
    configure_logging,
    current_correlation_id,
    log_context,
)

NIK = "6307061203900001"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_uvicorn = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in (*UVICORN_LOGGERS, UVICORN_ACCESS_LOGGER)
    }
    yield
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, (handlers, propagate) in saved_uvicorn.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


@pytest.fixture
def stream() -> io.StringIO:
    buffer = io.StringIO()
    configure_logging("agreements", stream=buffer)
    return buffer


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_log_line_is_one_json_object_with_the_standard_fields(stream: io.StringIO) -> None:
    logging.getLogger("sinergi.test").warning("hello %s", "world")

    (line,) = lines(stream)
    assert line["message"] == "hello world"
    assert line["level"] == "WARNING"
    assert line["logger"] == "sinergi.test"
    assert line["service"] == "agreements"
    assert line["time"].endswith("+00:00")
    assert "event_id" not in line
    assert "correlation_id" not in line


def test_a_nik_in_message_args_extra_and_exception_comes_out_masked(
    stream: io.StringIO,
) -> None:
    logger = logging.getLogger("sinergi.test")
    with log_context(event_id="evt-1", correlation_id="corr-1"):
        try:
            raise ValueError(f"bad nik {NIK}")
        except ValueError:
            logger.exception(
                f"inline {NIK} and arg %s",
                "6307 0612 0390 0001",
                extra={"nik": NIK, "person": {"ids": [int(NIK)]}, "stream_id": "1700000000000-0"},
            )

    raw = stream.getvalue()
    assert NIK not in raw
    assert "6307 0612" not in raw
    (line,) = lines(stream)
    assert line["message"] == "inline [NIK] and arg [NIK]"
    assert line["nik"] == "[NIK]"
    assert line["person"] == {"ids": ["[NIK]"]}
    assert line["stream_id"] == "1700000000000-0"
    assert "ValueError: bad nik [NIK]" in line["exc_info"]
    assert line["event_id"] == "evt-1"
    assert line["correlation_id"] == "corr-1"


def test_an_extra_object_is_logged_as_its_redacted_string(stream: io.StringIO) -> None:
    class Person:
        def __str__(self) -> str:
            return f"Person(nik={NIK})"

    logging.getLogger("sinergi.test").info("person", extra={"person": Person()})

    assert lines(stream)[0]["person"] == "Person(nik=[NIK])"


def test_a_broken_format_string_does_not_raise_or_leak_its_args(stream: io.StringIO) -> None:
    logging.getLogger("sinergi.test").info("count %d", NIK)

    (line,) = lines(stream)
    assert NIK not in stream.getvalue()
    assert line["message"].startswith("count %d")


def test_configure_logging_twice_does_not_duplicate_lines() -> None:
    buffer = io.StringIO()
    configure_logging("agreements", stream=buffer)
    configure_logging("agreements", "debug", stream=buffer)

    logging.getLogger("sinergi.test").debug("once")

    assert len(lines(buffer)) == 1


def test_uvicorn_loggers_go_through_the_same_redacting_handler(stream: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").info(
        "Invalid HTTP request for %s",
        f"/persons?nik={NIK}",
        extra={"color_message": "\x1b[1m%s\x1b[0m"},
    )

    (line,) = lines(stream)
    assert line["logger"] == "uvicorn.error"
    assert line["message"] == "Invalid HTTP request for /persons?nik=[NIK]"
    assert "color_message" not in line
    for name in UVICORN_LOGGERS:
        assert logging.getLogger(name).handlers == []
        assert logging.getLogger(name).propagate


def test_uvicorn_access_lines_are_muted_so_uvicorn_never_formats_them(
    stream: io.StringIO,
) -> None:
    uvicorn_access = logging.getLogger(UVICORN_ACCESS_LOGGER)
    # uvicorn's HTTP protocol formats its access line only if `hasHandlers()`: no handler of
    # its own (pytest attaches its capture handlers to non-propagating loggers; not counted)
    # and no propagation to the root's
    assert not uvicorn_access.propagate
    assert [h for h in uvicorn_access.handlers if not isinstance(h, LogCaptureHandler)] == []

    uvicorn_access.info('%s - "%s %s HTTP/1.1" %d', "10.0.0.1", "GET", "/health/live", 200)

    assert lines(stream) == []


def test_log_context_is_restored_when_the_block_ends() -> None:
    with log_context(correlation_id="outer"):
        with log_context(event_id="evt-2"):
            assert current_correlation_id() == "outer"
        with log_context(correlation_id="inner"):
            assert current_correlation_id() == "inner"
        assert current_correlation_id() == "outer"
    assert current_correlation_id() is None
