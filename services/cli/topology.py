"""The whole topology described once: which processes, in which order, with which settings.

Every service is configured by the same ``SINERGI_*`` variables as in compose.yaml (a unit
test compares the names, so the two cannot drift apart). The variables only a bare process
needs (its port, a documents directory the container image sets) are listed per service as
``process_only``. `sinergi up`, the demo and the e2e tests build their processes from here;
the e2e tests' compose path takes the env file and override from here as well.

A service outside this module joins through :func:`register`; the dashboard is added by
``_optional_services`` once its package exists.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from services.cli.processes import free_port
from services.identity.protection import generate_key
from shared.http.auth import Role, generate_api_key, hash_api_key

DEFAULT_FACILITY = "rutan-barabai"
DEFAULT_TIMEZONE = "Asia/Makassar"
DEFAULT_BASE_PORT = 8000
SECRETS_FILE = "secrets.json"
READY_PATH = "/health/ready"
COMMON_NAMES = ("SINERGI_ENVIRONMENT", "SINERGI_FACILITY", "SINERGI_TIMEZONE", "SINERGI_LOG_LEVEL")
API_SERVICES = frozenset({"agreements", "identity", "programs", "dashboard"})
DASHBOARD_LANGUAGES = ("id", "en")

Environment = Literal["development", "test", "production"]


# --- secrets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    """Keys the topology needs. Kept in the state directory so a restart can read its data.

    Each field can be given from the environment under ``ENV_NAMES[field]``.
    """

    staff_key: str
    registration_key: str
    registry_token: str
    registry_admin_token: str
    nik_key: str
    lookup_key: str
    dashboard_session_secret: str

    ENV_NAMES = {
        "staff_key": "SINERGI_STAFF_KEY",
        "registration_key": "SINERGI_REGISTRATION_KEY",
        "registry_token": "SINERGI_REGISTRY_TOKEN",
        "registry_admin_token": "SINERGI_REGISTRY_ADMIN_TOKEN",
        "nik_key": "SINERGI_IDENTITY_NIK_KEY",
        "lookup_key": "SINERGI_IDENTITY_LOOKUP_KEY",
        "dashboard_session_secret": "SINERGI_DASHBOARD_SESSION_SECRET",
    }

    @classmethod
    def generate(cls) -> Secrets:
        return cls(
            staff_key=generate_api_key(),
            registration_key=generate_api_key(),
            registry_token=generate_api_key(),
            registry_admin_token=generate_api_key(),
            nik_key=generate_key(),
            lookup_key=generate_key(),
            dashboard_session_secret=secrets.token_urlsafe(32),
        )

    @classmethod
    def load_or_create(cls, path: Path, environ: Mapping[str, str] | None = None) -> Secrets:
        """The secrets of ``path`` (made on first use, mode 0600), then environment overrides."""
        stored: dict[str, str] = {}
        if path.exists():
            stored = {k: str(v) for k, v in json.loads(path.read_text()).items()}
        generated = cls.generate()
        names = [f.name for f in fields(cls)]
        values = {name: stored.get(name) or getattr(generated, name) for name in names}
        if values != stored:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)
            path.write_text(json.dumps(values, indent=2) + "\n")
        environ = os.environ if environ is None else environ
        overrides = {name: environ[env] for name, env in cls.ENV_NAMES.items() if environ.get(env)}
        return cls(**(values | overrides))


@dataclass(frozen=True)
class ApiKey:
    """An API key of a person or tool, given to the services in ``services`` as its hash."""

    name: str
    role: Role
    key: str
    partner: str | None = None
    services: frozenset[str] = API_SERVICES
    facility: str | None = None  # None: the key serves every facility

    def entry(self) -> dict[str, str]:
        entry = {"name": self.name, "role": self.role.value, "sha256": hash_api_key(self.key)}
        if self.partner is not None:
            entry["partner"] = self.partner
        if self.facility is not None:
            entry["facility"] = self.facility
        return entry


def default_api_keys(s: Secrets) -> tuple[ApiKey, ...]:
    return (
        ApiKey("local-staff", Role.STAFF, s.staff_key),
        ApiKey(
            "local-registration",
            Role.REGISTRATION,
            s.registration_key,
            services=frozenset({"identity"}),
        ),
    )


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TopologyConfig:
    state_dir: Path
    redis_url: str
    secrets: Secrets
    facility: str = DEFAULT_FACILITY
    timezone: str = DEFAULT_TIMEZONE
    environment: Environment = "development"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    base_port: int = 0  # 0: a free port for every service
    database_urls: Mapping[str, str] = field(default_factory=dict)  # else SQLite in state_dir
    api_keys: tuple[ApiKey, ...] | None = None  # None: default_api_keys(secrets)
    extra_env: Mapping[str, str] = field(default_factory=dict)  # every platform service
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    services: tuple[str, ...] | None = None  # None: every registered service
    consumer_prefix: str = "local"
    registry_population: int = 20_000


EnvBuilder = Callable[["Topology"], dict[str, str]]


@dataclass(frozen=True)
class ServiceDefinition:
    """One process: ``python -m module``, started once every service of earlier waves is ready.

    ``environment`` gives the names compose.yaml gives too, plus those in ``process_only``.
    ``platform`` services also take ``TopologyConfig.extra_env`` (pinned day, tuning).
    """

    name: str  # the compose service name
    module: str
    port_offset: int  # the port is base_port + offset (compose publishes the same host ports)
    wave: int
    environment: EnvBuilder
    process_only: frozenset[str]
    platform: bool = True
    database: bool = False  # has SINERGI_<NAME>_DATABASE_URL
    log_name: str = ""

    @property
    def log_file(self) -> str:
        return f"{self.log_name or self.name}.log"


_REGISTRY: dict[str, ServiceDefinition] = {}


def register(definition: ServiceDefinition) -> ServiceDefinition:
    """Add (or replace) a service of the topology; the dashboard joins this way."""
    _REGISTRY[definition.name] = definition
    return definition


def definitions() -> list[ServiceDefinition]:
    _optional_services()
    return sorted(_REGISTRY.values(), key=lambda d: (d.wave, d.port_offset))


def _optional_services() -> None:
    """The dashboard (:data:`DASHBOARD` below) joins once ``services/dashboard`` exists."""
    if "dashboard" in _REGISTRY or not _module_exists("services.dashboard.__main__"):
        return
    register(DASHBOARD)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # the parent package is missing
        return False


# --- the topology ----------------------------------------------------------------------------


class Topology:
    """Ports, URLs and environments of every selected service, for one configuration."""

    def __init__(self, config: TopologyConfig, ports: Mapping[str, int] | None = None) -> None:
        self.config = config
        known = definitions()
        wanted = set(config.services) if config.services is not None else None
        if wanted is not None and (unknown := wanted - {d.name for d in known}):
            raise ValueError(f"unknown services: {', '.join(sorted(unknown))}")
        self.services = [d for d in known if wanted is None or d.name in wanted]
        given = ports or {}
        self.ports = {
            d.name: given.get(d.name)
            or (config.base_port + d.port_offset if config.base_port else free_port())
            for d in self.services
        }
        self.api_keys = (
            config.api_keys if config.api_keys is not None else default_api_keys(config.secrets)
        )

    def replace(self, **changes: Any) -> Topology:
        """The same services on the same ports, with some settings changed."""
        return Topology(replace(self.config, **changes), self.ports)

    @property
    def secrets(self) -> Secrets:
        return self.config.secrets

    def definition(self, name: str) -> ServiceDefinition:
        for definition in self.services:
            if definition.name == name:
                return definition
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(d.name == name for d in self.services)

    def url(self, name: str) -> str:
        return f"http://{self.config.host}:{self.ports[name]}"

    def log_path(self, name: str) -> Path:
        return self.config.state_dir / self.definition(name).log_file

    def waves(self) -> list[list[ServiceDefinition]]:
        waves: dict[int, list[ServiceDefinition]] = {}
        for definition in self.services:
            waves.setdefault(definition.wave, []).append(definition)
        return [waves[wave] for wave in sorted(waves)]

    def common_env(self) -> dict[str, str]:
        c = self.config
        values = (c.environment, c.facility, c.timezone, c.log_level)
        return dict(zip(COMMON_NAMES, values, strict=True))

    def http_env(self, name: str) -> dict[str, str]:
        return {"SINERGI_HTTP_HOST": self.config.host, "SINERGI_HTTP_PORT": str(self.ports[name])}

    def consumer_env(self, name: str) -> dict[str, str]:
        return {"SINERGI_CONSUMER_NAME": f"{self.config.consumer_prefix}-{name}-1"}

    def database_url(self, name: str) -> str:
        given = self.config.database_urls.get(name)
        return given or f"sqlite:///{self.config.state_dir / f'{name}.db'}"

    def api_keys_json(self, service: str) -> str:
        return json.dumps([k.entry() for k in self.api_keys if service in k.services])

    def environment(self, name: str) -> dict[str, str]:
        """Every ``SINERGI_*`` variable of the service's process (nothing inherited)."""
        definition = self.definition(name)
        env = definition.environment(self)
        if definition.platform:
            env |= self.config.extra_env
        return env | dict(self.config.service_env.get(name, {}))

    # --- the compose path (tests/e2e) -------------------------------------------------------

    def compose_variables(self) -> dict[str, str]:
        """Values of the ``${...}`` variables compose.yaml reads from its env file."""
        c, s = self.config, self.config.secrets
        passwords = {
            name: secrets.token_hex(16)
            for name in (
                "POSTGRES_PASSWORD",
                "POSTGRES_AGREEMENTS_PASSWORD",
                "POSTGRES_PROGRAMS_PASSWORD",
                "POSTGRES_IDENTITY_PASSWORD",
            )
        }
        return passwords | {
            "SINERGI_ENVIRONMENT": c.environment,
            "SINERGI_FACILITY": c.facility,
            "SINERGI_TIMEZONE": c.timezone,
            "SINERGI_AGREEMENTS_API_KEYS": self.api_keys_json("agreements"),
            "SINERGI_PROGRAMS_API_KEYS": self.api_keys_json("programs"),
            "SINERGI_IDENTITY_API_KEYS": self.api_keys_json("identity"),
            "SINERGI_IDENTITY_NIK_KEY": s.nik_key,
            "SINERGI_IDENTITY_NIK_KEY_ID": "1",
            "SINERGI_IDENTITY_NIK_PREVIOUS_KEYS": "{}",
            "SINERGI_IDENTITY_LOOKUP_KEY": s.lookup_key,
            "SINERGI_REGISTRY_TOKEN": s.registry_token,
            "SINERGI_REGISTRY_CLIENT_TOKENS": json.dumps({s.registry_token: c.facility}),
            "SINERGI_REGISTRY_ADMIN_TOKEN": s.registry_admin_token,
            "SINERGI_REGISTRY_POPULATION": str(c.registry_population),
            "SINERGI_DASHBOARD_API_KEYS": self.api_keys_json("dashboard"),
            "SINERGI_DASHBOARD_SESSION_SECRET": s.dashboard_session_secret,
            "SINERGI_DASHBOARD_COOKIE_SECURE": "false",  # the tests talk plain HTTP
        }

    def compose_env_file(self) -> str:
        # Single quotes: compose takes the JSON values literally, without interpolation.
        lines = [f"{name}='{value}'" for name, value in self.compose_variables().items()]
        return "\n".join(lines) + "\n"

    def compose_override(self) -> dict[str, Any]:
        """What the tests add to compose.yaml: extra settings (a pinned day, tuning)."""
        services: dict[str, Any] = {}
        for definition in self.services:
            env = dict(self.config.extra_env) if definition.platform else {}
            env |= dict(self.config.service_env.get(definition.name, {}))
            if env:
                services[definition.name] = {"environment": env}
        return {"services": services}


# --- the services ----------------------------------------------------------------------------


def _agreements(t: Topology) -> dict[str, str]:
    return (
        t.common_env()
        | t.http_env("agreements")
        | t.consumer_env("agreements")
        | {
            "SINERGI_REDIS_URL": t.config.redis_url,
            "SINERGI_AGREEMENTS_DATABASE_URL": t.database_url("agreements"),
            "SINERGI_AGREEMENTS_API_KEYS": t.api_keys_json("agreements"),
            "SINERGI_AGREEMENTS_EXPIRY_NOTICE_DAYS": "90",
            "SINERGI_AGREEMENTS_MIGRATE_ON_START": "true",
            "SINERGI_AGREEMENTS_DOCUMENTS_DIR": str(t.config.state_dir / "documents"),
        }
    )


def _identity(t: Topology) -> dict[str, str]:
    registry = t.url("civil-registry") if t.has("civil-registry") else "http://127.0.0.1:8090"
    return (
        t.common_env()
        | t.http_env("identity")
        | t.consumer_env("identity")
        | {
            "SINERGI_REDIS_URL": t.config.redis_url,
            "SINERGI_IDENTITY_DATABASE_URL": t.database_url("identity"),
            "SINERGI_IDENTITY_API_KEYS": t.api_keys_json("identity"),
            "SINERGI_IDENTITY_NIK_KEY": t.secrets.nik_key,
            "SINERGI_IDENTITY_NIK_KEY_ID": "1",
            "SINERGI_IDENTITY_NIK_PREVIOUS_KEYS": "{}",
            "SINERGI_IDENTITY_LOOKUP_KEY": t.secrets.lookup_key,
            "SINERGI_REGISTRY_URL": registry,
            "SINERGI_REGISTRY_TOKEN": t.secrets.registry_token,
            "SINERGI_IDENTITY_MIGRATE_ON_START": "true",
        }
    )


def _programs(t: Topology) -> dict[str, str]:
    return (
        t.common_env()
        | t.http_env("programs")
        | t.consumer_env("programs")
        | {
            "SINERGI_REDIS_URL": t.config.redis_url,
            "SINERGI_PROGRAMS_DATABASE_URL": t.database_url("programs"),
            "SINERGI_PROGRAMS_API_KEYS": t.api_keys_json("programs"),
            "SINERGI_PROGRAMS_MIGRATE_ON_START": "true",
        }
    )


def _dashboard(t: Topology) -> dict[str, str]:
    return (
        t.common_env()
        | t.http_env("dashboard")
        | t.consumer_env("dashboard")
        | {
            "SINERGI_REDIS_URL": t.config.redis_url,
            "SINERGI_DASHBOARD_DATABASE_URL": t.database_url("dashboard"),
            "SINERGI_DASHBOARD_API_KEYS": t.api_keys_json("dashboard"),
            "SINERGI_DASHBOARD_SESSION_SECRET": t.secrets.dashboard_session_secret,
            # Local processes serve plain HTTP; compose sets it true (behind TLS).
            "SINERGI_DASHBOARD_COOKIE_SECURE": "false",
            "SINERGI_DASHBOARD_MIGRATE_ON_START": "true",
            "SINERGI_LANGUAGE": dashboard_language(),
        }
    )


def dashboard_language(environ: Mapping[str, str] | None = None) -> str:
    """`SINERGI_LANGUAGE` of whoever runs the command line, if it names a known language.

    Child processes inherit no ``SINERGI_*`` variable (see ``child_env``), so it is passed on
    explicitly; compose reads the same variable from its env file.
    """
    asked = (os.environ if environ is None else environ).get("SINERGI_LANGUAGE", "id")
    return asked if asked in DASHBOARD_LANGUAGES else "id"


def _civil_registry(t: Topology) -> dict[str, str]:
    s = t.secrets
    return t.http_env("civil-registry") | {
        "SINERGI_REGISTRY_CLIENT_TOKENS": json.dumps({s.registry_token: t.config.facility}),
        "SINERGI_REGISTRY_ADMIN_TOKEN": s.registry_admin_token,
        "SINERGI_REGISTRY_POPULATION": str(t.config.registry_population),
    }


_HTTP = frozenset({"SINERGI_HTTP_HOST", "SINERGI_HTTP_PORT"})
_CONSUMER = frozenset({"SINERGI_CONSUMER_NAME"})

register(
    ServiceDefinition(
        name="civil-registry",
        module="services.civil_registry",
        port_offset=90,
        wave=0,
        environment=_civil_registry,
        process_only=_HTTP,
        platform=False,
    )
)
register(
    ServiceDefinition(
        name="agreements",
        module="services.agreements",
        port_offset=1,
        wave=1,
        environment=_agreements,
        process_only=_HTTP | _CONSUMER | {"SINERGI_AGREEMENTS_DOCUMENTS_DIR"},
        database=True,
    )
)
register(
    ServiceDefinition(
        name="identity",
        module="services.identity",
        port_offset=11,
        wave=1,
        environment=_identity,
        process_only=_HTTP | _CONSUMER,
        database=True,
    )
)
register(
    ServiceDefinition(
        name="programs",
        module="services.programs",
        port_offset=21,
        wave=1,
        environment=_programs,
        process_only=_HTTP | _CONSUMER,
        database=True,
    )
)

DASHBOARD = ServiceDefinition(
    name="dashboard",
    module="services.dashboard",
    port_offset=80,
    wave=2,
    environment=_dashboard,
    process_only=_HTTP | _CONSUMER,
    database=True,
)
