"""Poison entries for the real services' streams, and watching that nobody stops being ready.

:func:`poison_entries` gives, for one stream, entries no consumer can apply, each with the
dead-letter reason code it must end with. Every consuming group of that stream (see each
service's ``subscribers.py``) must dead-letter every one of them, and go on.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from shared.events.examples import example_event
from shared.messaging import ENTRY_FIELD
from tests.infra import DEFAULT_POSTGRES_URL

HUGE_BYTES = 5 * 1024 * 1024

# The groups reading each stream: services/*/subscribers.py.
CONSUMERS: Mapping[str, tuple[str, ...]] = {
    "sinergi.agreements": ("identity", "programs", "dashboard"),
    "sinergi.programs": ("agreements", "dashboard"),
    "sinergi.identity": ("programs", "dashboard"),
}
# A type each stream really carries, as the template of the malformed ones.
TEMPLATES: Mapping[str, str] = {
    "sinergi.agreements": "sinergi.agreement.activated",
    "sinergi.programs": "sinergi.session.held",
    "sinergi.identity": "sinergi.inmate.admitted",
}


@dataclass(frozen=True)
class Poison:
    kind: str
    fields: dict[str, bytes]
    code: str  # the dead letter's reason_code
    names: str  # a word the reason must contain: it names the problem


def _template(stream: str) -> dict[str, Any]:
    event = json.loads(example_event(TEMPLATES[stream], 1).to_json())
    event["id"] = str(uuid.uuid4())
    event["subject"] = str(uuid.uuid4())
    assert isinstance(event, dict)
    return event


def _entry(event: Mapping[str, Any]) -> dict[str, bytes]:
    return {ENTRY_FIELD: json.dumps(event).encode()}


def poison_entries(stream: str) -> list[Poison]:
    unknown = _template(stream)
    unknown["type"] = "sinergi.session.teleported"
    unknown["dataschema"] = "urn:sinergi:schema:sinergi.session.teleported:v1"
    invalid = _template(stream)
    invalid["data"] = {"unexpected": "shape"}
    bare = _template(stream)
    for name in ("specversion", "id", "source", "type"):
        del bare[name]
    huge = _template(stream)
    huge["data"]["padding"] = "x" * HUGE_BYTES
    return [
        Poison(
            "bad JSON", {ENTRY_FIELD: b'{"specversion": "1.0", "id": '}, "invalid_envelope", "JSON"
        ),
        Poison("unknown type", _entry(unknown), "unknown_type", "teleported"),
        Poison("invalid payload", _entry(invalid), "invalid_payload", "required"),
        Poison("no envelope", _entry(bare), "invalid_envelope", "required"),
        Poison("no event field", {"payload": b"{}"}, "no_event_field", "__data__"),
        Poison("huge", _entry(huge), "too_large", "bytes"),
    ]


# --- readiness throughout ----------------------------------------------------------------


@dataclass
class ReadinessWatch:
    """Polls every service's ``/health/ready`` in a thread; any other answer is recorded."""

    urls: Mapping[str, str]
    interval_s: float = 0.25
    samples: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                for name, url in self.urls.items():
                    try:
                        status = client.get(url + "/health/ready").status_code
                    except httpx.HTTPError as error:
                        status = 0
                        self.failures.append(f"{name}: {type(error).__name__}")
                    else:
                        if status != 200:
                            self.failures.append(f"{name}: {status}")
                    self.samples += 1
                self._stop.wait(self.interval_s)

    @contextlib.contextmanager
    def running(self) -> Iterator[ReadinessWatch]:
        thread = threading.Thread(target=self._run, name="readiness watch", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=10)


# --- a PostgreSQL database with an owner that is not a superuser -------------------------


@contextlib.contextmanager
def owned_postgres_database() -> Iterator[tuple[str, str]]:
    """A fresh database owned by a fresh login role (privileges apply to it); both dropped.

    Yields the service's URL (as that role) and an admin URL of the same database.
    """
    admin_url = _admin_url()
    suffix = uuid.uuid4().hex[:10]
    role, name = f"poison_role_{suffix}", f"poison_db_{suffix}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
    base = admin_url.rsplit("/", 1)[0]
    host = base.split("@", 1)[1] if "@" in base else base.split("//", 1)[1]
    try:
        yield f"postgresql://{role}@{host}/{name}", f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def _admin_url() -> str:
    return os.environ.get("SINERGI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
