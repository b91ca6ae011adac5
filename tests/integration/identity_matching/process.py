"""The identity service as a real process (``python -m services.identity``), seeded directly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from services.civil_registry.population import Person
from services.identity import commands, domain, handlers
from services.identity.migrations import upgrade_to_head
from services.identity.protection import NikVault, generate_key
from services.identity.unit_of_work import STREAM, UnitOfWork
from shared.persistence.engine import make_engine
from tests.infra import free_port
from tests.integration.identity_matching.support import (
    CLIENT_TOKEN,
    FACILITY,
    REPO,
    TODAY,
    api_key_entries,
    wait_until,
)


@dataclass
class IdentityProcess:
    database_url: str
    redis_url: str
    registry_url: str
    log: Path
    overrides: dict[str, str] = field(default_factory=dict)
    nik_key: str = field(default_factory=generate_key)
    lookup_key: str = field(default_factory=generate_key)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def vault(self) -> NikVault:
        return NikVault(self.nik_key, self.lookup_key)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SINERGI_ENVIRONMENT": "test",
            "SINERGI_FACILITY": FACILITY,
            "SINERGI_TODAY": TODAY.isoformat(),
            "SINERGI_IDENTITY_DATABASE_URL": self.database_url,
            "SINERGI_REDIS_URL": self.redis_url,
            "SINERGI_IDENTITY_NIK_KEY": self.nik_key,
            "SINERGI_IDENTITY_LOOKUP_KEY": self.lookup_key,
            "SINERGI_IDENTITY_API_KEYS": json.dumps(
                [entry.model_dump(mode="json") for entry in api_key_entries()]
            ),
            "SINERGI_REGISTRY_URL": self.registry_url,
            "SINERGI_REGISTRY_TOKEN": CLIENT_TOKEN,
            "SINERGI_HTTP_HOST": "127.0.0.1",
            "SINERGI_HTTP_PORT": str(self.port),
            "SINERGI_CONSUMER_NAME": "identity-1",
            "SINERGI_BLOCK_MS": "50",
            "SINERGI_RELAY_POLL_INTERVAL_S": "0.1",
            "SINERGI_REGISTRY_POLL_INTERVAL_S": "0.1",
            "SINERGI_REGISTRY_TIMEOUT_S": "5",
            **self.overrides,
        }

    def migrate_and_admit(self, people: Sequence[tuple[str, Person]]) -> list[str]:
        """Create the schema and admit ``(register number, person)`` in one transaction."""
        engine = make_engine(self.database_url)
        try:
            upgrade_to_head(engine)
            vault = self.vault
            with UnitOfWork(engine, STREAM) as uow:
                ids = [
                    handlers.admit_into(uow, _admission(register, person), vault).person_id
                    for register, person in people
                ]
                uow.commit()
            return ids
        finally:
            engine.dispose()

    def start(self) -> IdentityProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.identity"],
                cwd=REPO,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def live() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"identity exited: {self.log.read_text()[-3000:]}")
            try:
                return httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(live, timeout=60, what="the identity service")
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return [dict(row) for row in connection.execute(sa.text(sql), params).mappings()]
        finally:
            engine.dispose()

    def scalar(self, sql: str, **params: Any) -> Any:
        rows = self.query(sql, **params)
        return next(iter(rows[0].values())) if rows else None


def _admission(register_number: str, person: Person) -> commands.Admit:
    return commands.Admit(
        facility=FACILITY,
        register_number=register_number,
        category=domain.Category.A_I,
        personal=domain.PersonalData(
            name=person.name,
            sex=domain.Sex(person.sex),
            birth_place=person.birth_place,
            birth_date=person.birth_date,
            mother_name=person.mother_name,
        ),
        admission_date=TODAY.replace(month=1),
        nik=person.nik,
    )
