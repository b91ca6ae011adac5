"""The agreements service as a child process of the demo (`python -m services.agreements`).

Its settings come from :mod:`services.cli.topology`, as for `sinergi up`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from services.cli.processes import free_port
from services.cli.supervisor import ProcessTopology, ServiceFailedError
from services.cli.topology import ApiKey, Secrets, Topology, TopologyConfig
from shared.http.auth import Role

READY_TIMEOUT_S = 45.0
NAME = "agreements"


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

    def topology(self) -> Topology:
        config = TopologyConfig(
            state_dir=self.state_dir,
            redis_url=self.redis_url,
            secrets=Secrets.generate(),
            facility=self.facility,
            timezone=self.timezone,
            services=(NAME,),
            api_keys=(ApiKey("demo-staff", Role.STAFF, self.api_key),),
            consumer_prefix="demo",
        )
        return Topology(config, ports={NAME: self.port})

    def environment(self, today: date) -> dict[str, str]:
        return self.topology().environment(NAME) | {"SINERGI_TODAY": today.isoformat()}


class AgreementsService:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self._processes = ProcessTopology(config.topology(), ready_timeout_s=READY_TIMEOUT_S)

    @property
    def pid(self) -> int | None:
        return self._processes.pids().get(NAME)

    def start(self, today: date) -> None:
        """Start on the pinned calendar day and return once /health/ready answers 200."""
        self._processes.spawn(NAME, {"SINERGI_TODAY": today.isoformat()})
        try:
            self._processes.wait_ready(NAME)
        except ServiceFailedError as error:
            self.stop()
            raise RuntimeError(str(error)) from error

    def stop(self) -> int | None:
        return self._processes.stop_service(NAME)
