"""The agreements service as a child process of the demo (`python -m services.agreements`)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from services.cli.agreements_client import wait_until_ready
from services.cli.processes import ChildProcess, child_env, free_port
from shared.http.auth import hash_api_key

READY_TIMEOUT_S = 45.0


@dataclass(frozen=True)
class ServiceConfig:
    state_dir: Path
    redis_url: str
    facility: str
    timezone: str
    api_key: str
    port: int

    @classmethod
    def fresh_port(
        cls, state_dir: Path, redis_url: str, facility: str, timezone: str, api_key: str
    ) -> ServiceConfig:
        return cls(state_dir, redis_url, facility, timezone, api_key, free_port())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "agreements.log"

    def environment(self, today: date) -> dict[str, str]:
        keys = [{"name": "demo-staff", "role": "staff", "sha256": hash_api_key(self.api_key)}]
        return {
            "SINERGI_ENVIRONMENT": "development",
            "SINERGI_REDIS_URL": self.redis_url,
            "SINERGI_FACILITY": self.facility,
            "SINERGI_TIMEZONE": self.timezone,
            "SINERGI_HTTP_HOST": "127.0.0.1",
            "SINERGI_HTTP_PORT": str(self.port),
            "SINERGI_CONSUMER_NAME": "demo-agreements-1",
            "SINERGI_AGREEMENTS_DATABASE_URL": f"sqlite:///{self.state_dir / 'agreements.db'}",
            "SINERGI_AGREEMENTS_DOCUMENTS_DIR": str(self.state_dir / "documents"),
            "SINERGI_AGREEMENTS_API_KEYS": json.dumps(keys),
            "SINERGI_TODAY": today.isoformat(),
        }


class AgreementsService:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self._process: ChildProcess | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, today: date) -> None:
        """Start on the pinned calendar day and return once /health/ready answers 200."""
        process = ChildProcess(
            [sys.executable, "-m", "services.agreements"],
            log_path=self.config.log_path,
            env=child_env(self.config.environment(today)),
        )
        process.start()
        self._process = process
        try:
            wait_until_ready(self.config.base_url, READY_TIMEOUT_S, process.alive)
        except (RuntimeError, TimeoutError) as error:
            tail = process.log_tail()
            self.stop()
            raise RuntimeError(f"{error}\n--- {self.config.log_path} ---\n{tail}") from error

    def stop(self) -> int | None:
        process, self._process = self._process, None
        return process.stop() if process is not None else None
