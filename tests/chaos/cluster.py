"""Two replicas of agreements, identity and programs (one registry stand-in) as processes.

Every trial has its own ``redis-server`` and its own PostgreSQL databases
(``chaos_<service>_<seed>``, dropped afterwards). The replicas of a service share its
database and consumer group; each has its own HTTP port and consumer name, so a restarted
replica drains what it had read before it died and its sibling claims the rest after
``SINERGI_CLAIM_IDLE_MS``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import Engine, make_url

from services.cli.processes import ChildProcess, child_env, free_port
from services.cli.roster import POPULATION_SEED, POPULATION_SIZE
from services.cli.topology import READY_PATH, ApiKey, Secrets, Topology, TopologyConfig
from shared.http.auth import Role
from shared.persistence.engine import make_engine
from tests.infra import DEFAULT_POSTGRES_URL, RedisProcess

REPLICATED = ("agreements", "identity", "programs")
REGISTRY = "civil-registry"
REPLICAS = 2
TODAY = date(2023, 7, 1)  # after every session of the load, inside every 2023 agreement
READY_TIMEOUT_S = 90.0

TUNING = {
    "SINERGI_CLAIM_IDLE_MS": "2000",
    "SINERGI_CLAIM_INTERVAL_S": "1",
    "SINERGI_TODAY": TODAY.isoformat(),
    "SINERGI_LOG_LEVEL": "INFO",
}


@dataclass(frozen=True)
class Replica:
    service: str
    index: int  # 1 or 2

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"


class Databases:
    """One PostgreSQL database per replicated service, made for the trial and dropped after."""

    def __init__(self, seed: int, admin_url: str | None = None) -> None:
        self.admin_url = admin_url or os.environ.get(
            "SINERGI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL
        )
        self.names = {service: f"chaos_{service}_{seed}" for service in REPLICATED}
        self._engines: dict[str, Engine] = {}

    def url(self, service: str) -> str:
        base = make_url(self.admin_url).set(drivername="postgresql+psycopg")
        return base.set(database=self.names[service]).render_as_string(hide_password=False)

    def create(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            for name in self.names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{name}"')

    def engine(self, service: str) -> Engine:
        if service not in self._engines:
            self._engines[service] = make_engine(self.url(service))
        return self._engines[service]

    def drop(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            for name in self.names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Cluster:
    """The processes of one trial; :meth:`kill` is ``kill -9``, :meth:`start` brings one back."""

    def __init__(self, seed: int, state_dir: Path, redis_url: str, databases: Databases) -> None:
        self.seed = seed
        self.state_dir = state_dir
        self.secrets = Secrets.generate()
        self.facility = "rutan-barabai"
        api_keys = (
            ApiKey("chaos-staff", Role.STAFF, self.secrets.staff_key, facility=self.facility),
            ApiKey(
                "chaos-registration",
                Role.REGISTRATION,
                self.secrets.registration_key,
                services=frozenset({"identity"}),
            ),
        )
        self.topology = Topology(
            TopologyConfig(
                state_dir=state_dir,
                redis_url=redis_url,
                secrets=self.secrets,
                facility=self.facility,
                environment="test",
                api_keys=api_keys,
                database_urls={s: databases.url(s) for s in REPLICATED},
                extra_env=TUNING,
                service_env={
                    REGISTRY: {
                        "SINERGI_REGISTRY_SEED": str(POPULATION_SEED),
                        "SINERGI_REGISTRY_RATE_LIMIT_PER_S": "1000",
                        "SINERGI_REGISTRY_RATE_BURST": "2000",
                    },
                    # Small batches to a slow registry: the job runs while replicas die.
                    "identity": {
                        "SINERGI_REGISTRY_RESYNC_ENABLED": "false",
                        "SINERGI_REGISTRY_BATCH_SIZE": "5",
                        "SINERGI_REGISTRY_CONCURRENCY": "1",
                        "SINERGI_REGISTRY_FAULT_LATENCY_MS": "400",
                    },
                },
                services=(REGISTRY, *REPLICATED),
                consumer_prefix=f"chaos{seed}",
                registry_population=POPULATION_SIZE,
            )
        )
        self.ports = {
            Replica(s, i).name: (self.topology.ports[s] if i == 1 else free_port())
            for s in REPLICATED
            for i in range(1, REPLICAS + 1)
        }
        self.processes: dict[str, ChildProcess] = {}
        self.kills = 0

    @property
    def replicas(self) -> list[Replica]:
        return [Replica(s, i) for s in REPLICATED for i in range(1, REPLICAS + 1)]

    def url(self, replica: Replica) -> str:
        return f"http://127.0.0.1:{self.ports[replica.name]}"

    def urls(self, service: str) -> list[str]:
        return [self.url(Replica(service, i)) for i in range(1, REPLICAS + 1)]

    @property
    def registry_url(self) -> str:
        return self.topology.url(REGISTRY)

    def log_path(self, name: str) -> Path:
        return self.state_dir / f"{name}.log"

    # --- processes --------------------------------------------------------------------------

    def _spawn(self, name: str, module: str, env: dict[str, str]) -> None:
        process = ChildProcess(
            [sys.executable, "-m", module],
            log_path=self.log_path(name),
            env=child_env(env | {"PYTHONUNBUFFERED": "1"}),
        )
        process.start()
        self.processes[name] = process

    def start(self, replica: Replica) -> None:
        definition = self.topology.definition(replica.service)
        env = self.topology.environment(replica.service) | {
            "SINERGI_HTTP_PORT": str(self.ports[replica.name]),
            "SINERGI_CONSUMER_NAME": f"chaos{self.seed}-{replica.name}",
        }
        self._spawn(replica.name, definition.module, env)

    def start_all(self) -> None:
        """The registry, then the first replica of each service (it migrates), then the rest."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._spawn(REGISTRY, "services.civil_registry", self.topology.environment(REGISTRY))
        self.wait_ready(REGISTRY, self.registry_url)
        firsts = [r for r in self.replicas if r.index == 1]
        for replica in firsts:
            self.start(replica)
        for replica in firsts:
            self.wait_ready(replica.name, self.url(replica))
        others = [r for r in self.replicas if r.index != 1]
        for replica in others:
            self.start(replica)
        for replica in others:
            self.wait_ready(replica.name, self.url(replica))

    def alive(self, replica: Replica) -> bool:
        process = self.processes.get(replica.name)
        return process is not None and process.alive()

    def kill(self, replica: Replica) -> None:
        process = self.processes.pop(replica.name)
        process.signal(signal.SIGKILL)
        process.stop(timeout_s=10)
        self.kills += 1

    def wait_ready(self, name: str, base_url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                process = self.processes.get(name)
                if process is None or not process.alive():
                    raise RuntimeError(f"{name} exited:\n{self._tail(name)}")
                try:
                    response = http.get(base_url + READY_PATH)
                except httpx.TransportError as error:
                    last = type(error).__name__
                else:
                    if response.status_code == 200 or _only_behind(response):
                        return
                    last = f"{response.status_code} {response.text[:200]}"
                time.sleep(0.1)
        raise RuntimeError(f"{name} not ready in {timeout_s:.0f} s ({last}):\n{self._tail(name)}")

    def _tail(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path(name).read_text(errors="replace").splitlines()[-20:])
        return ""

    def stop(self) -> None:
        for process in self.processes.values():
            process.signal(signal.SIGTERM)
        for process in self.processes.values():
            process.stop(timeout_s=20)
        self.processes.clear()


def _only_behind(response: httpx.Response) -> bool:
    """Not ready only because its group's lag is over the threshold: up and consuming.

    The lag is the group's, shared by both replicas: under a heavy load a restarted replica
    would otherwise wait for the whole backlog before it counts as back.
    """
    try:
        failing = {n for n, c in response.json()["checks"].items() if not c["ok"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    return failing == {"consumer_lag"}


@contextlib.contextmanager
def running_cluster(seed: int, state_dir: Path) -> Iterator[tuple[Cluster, Databases, str]]:
    """A started cluster, its databases and its Redis URL; all removed on the way out."""
    redis = RedisProcess().start()
    databases = Databases(seed)
    cluster: Cluster | None = None
    try:
        databases.create()
        cluster = Cluster(seed, state_dir, redis.url, databases)
        cluster.start_all()
        yield cluster, databases, redis.url
    finally:
        if cluster is not None:
            cluster.stop()
        databases.drop()
        redis.close()
