"""The civil-registry stand-in and the identity service as child processes of the demo."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from services.cli.agreements_client import wait_until_ready
from services.cli.processes import ChildProcess, child_env, free_port
from services.cli.roster import POPULATION_SEED, POPULATION_SIZE
from services.identity.protection import generate_key
from shared.http.auth import generate_api_key, hash_api_key

READY_TIMEOUT_S = 45.0


@dataclass(frozen=True)
class IdentityConfig:
    state_dir: Path
    redis_url: str
    facility: str
    timezone: str
    registration_key: str = field(default_factory=generate_api_key)
    registry_token: str = field(default_factory=generate_api_key)
    nik_key: str = field(default_factory=generate_key)
    lookup_key: str = field(default_factory=generate_key)
    registry_port: int = field(default_factory=free_port)
    port: int = field(default_factory=free_port)

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.registry_port}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def registry_log_path(self) -> Path:
        return self.state_dir / "civil-registry.log"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "identity.log"

    def registry_environment(self) -> dict[str, str]:
        return {
            "SINERGI_ENVIRONMENT": "development",
            "SINERGI_HTTP_HOST": "127.0.0.1",
            "SINERGI_HTTP_PORT": str(self.registry_port),
            "SINERGI_REGISTRY_CLIENT_TOKENS": json.dumps({self.registry_token: self.facility}),
            "SINERGI_REGISTRY_POPULATION": str(POPULATION_SIZE),
            "SINERGI_REGISTRY_SEED": str(POPULATION_SEED),
            "SINERGI_REGISTRY_RATE_LIMIT_PER_S": "1000",
            "SINERGI_REGISTRY_RATE_BURST": "2000",
        }

    def environment(self, today: date) -> dict[str, str]:
        keys = [
            {
                "name": "demo-registration",
                "role": "registration",
                "sha256": hash_api_key(self.registration_key),
            }
        ]
        return {
            "SINERGI_ENVIRONMENT": "development",
            "SINERGI_REDIS_URL": self.redis_url,
            "SINERGI_FACILITY": self.facility,
            "SINERGI_TIMEZONE": self.timezone,
            "SINERGI_HTTP_HOST": "127.0.0.1",
            "SINERGI_HTTP_PORT": str(self.port),
            "SINERGI_CONSUMER_NAME": "demo-identity-1",
            "SINERGI_IDENTITY_DATABASE_URL": f"sqlite:///{self.state_dir / 'identity.db'}",
            "SINERGI_IDENTITY_API_KEYS": json.dumps(keys),
            "SINERGI_IDENTITY_NIK_KEY": self.nik_key,
            "SINERGI_IDENTITY_LOOKUP_KEY": self.lookup_key,
            "SINERGI_REGISTRY_URL": self.registry_url,
            "SINERGI_REGISTRY_TOKEN": self.registry_token,
            # The demo checks one job's figures: no changes feed or re-validation beside it.
            "SINERGI_REGISTRY_RESYNC_ENABLED": "false",
            "SINERGI_TODAY": today.isoformat(),
        }


class IdentityServices:
    """Both processes: :meth:`spawn` starts them, :meth:`wait_ready` waits for /health/ready."""

    def __init__(self, config: IdentityConfig) -> None:
        self.config = config
        self._registry: ChildProcess | None = None
        self._identity: ChildProcess | None = None

    @property
    def pids(self) -> list[int | None]:
        return [p.pid for p in (self._identity, self._registry) if p is not None]

    def spawn(self, today: date) -> None:
        self._registry = ChildProcess(
            [sys.executable, "-m", "services.civil_registry"],
            log_path=self.config.registry_log_path,
            env=child_env(self.config.registry_environment()),
        )
        self._registry.start()
        self._identity = ChildProcess(
            [sys.executable, "-m", "services.identity"],
            log_path=self.config.log_path,
            env=child_env(self.config.environment(today)),
        )
        self._identity.start()

    def wait_ready(self) -> None:
        for process, url in (
            (self._registry, self.config.registry_url),
            (self._identity, self.config.base_url),
        ):
            if process is None:
                raise RuntimeError("the identity services were not started")
            try:
                wait_until_ready(url, READY_TIMEOUT_S, process.alive)
            except (RuntimeError, TimeoutError) as error:
                tail = process.log_tail()
                self.stop()
                raise RuntimeError(f"{error}\n--- {process.log_path} ---\n{tail}") from error

    def stop(self) -> None:
        """SIGTERM the identity service first (it finishes its batches), then the registry."""
        identity, self._identity = self._identity, None
        registry, self._registry = self._registry, None
        if identity is not None:
            identity.stop()
        if registry is not None:
            registry.stop()
