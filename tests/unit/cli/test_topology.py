"""The process topology against compose.yaml: same variables, same ports, same secrets."""

from __future__ import annotations

import importlib
import json
import re
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings
from ruamel.yaml import YAML

from services.cli.topology import (
    DEFAULT_BASE_PORT,
    ApiKey,
    Secrets,
    Topology,
    TopologyConfig,
    definitions,
)
from shared.http.auth import Role, hash_api_key
from tests.e2e.processes import compose_env_file, required_compose_variables

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE: dict[str, Any] = YAML(typ="safe").load(COMPOSE_TEXT)
SETTINGS = {
    "agreements": "services.agreements.config:AgreementsSettings",
    "identity": "services.identity.config:IdentitySettings",
    "programs": "services.programs.config:ProgramsSettings",
    "civil-registry": "services.civil_registry.config:RegistrySettings",
    "dashboard": "services.dashboard.config:DashboardSettings",
}


def topology(**changes: Any) -> Topology:
    config = TopologyConfig(
        state_dir=Path("/srv/sinergi"),
        redis_url="redis://127.0.0.1:6379/0",
        secrets=Secrets.generate(),
        base_port=DEFAULT_BASE_PORT,
    )
    return Topology(replace(config, **changes))


def settings_class(name: str) -> type[BaseSettings]:
    module, attribute = SETTINGS[name].split(":")
    found: type[BaseSettings] = getattr(importlib.import_module(module), attribute)
    assert issubclass(found, BaseSettings)
    return found


def compose_names(service: str) -> set[str]:
    return set(COMPOSE["services"][service].get("environment", {}))


PYTHON_SERVICES = sorted(name for name, s in COMPOSE["services"].items() if "build" in s)


@pytest.mark.parametrize("service", PYTHON_SERVICES)
def test_every_service_compose_builds_runs_in_the_process_topology(service: str) -> None:
    assert service in {d.name for d in definitions()}


@pytest.mark.parametrize("service", [d.name for d in definitions()])
def test_a_process_gets_the_variables_compose_gives_plus_only_its_declared_extras(
    service: str,
) -> None:
    t = topology()
    definition = t.definition(service)
    env = set(t.environment(service))
    if service in COMPOSE["services"]:
        assert env - definition.process_only == compose_names(service)
    assert definition.process_only <= env


@pytest.mark.parametrize("service", [d.name for d in definitions()])
def test_every_variable_of_a_process_is_a_setting_of_its_service(service: str) -> None:
    fields = {f"SINERGI_{name.upper()}" for name in settings_class(service).model_fields}
    assert set(topology().environment(service)) <= fields


@pytest.mark.parametrize("service", [d.name for d in definitions()])
def test_the_environment_of_a_process_is_accepted_by_its_settings(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in topology().environment(service).items():
        monkeypatch.setenv(name, value)
    settings_class(service)()  # raises on a value the service would refuse


@pytest.mark.parametrize(
    "service", [n for n in PYTHON_SERVICES if "ports" in COMPOSE["services"][n]]
)
def test_the_base_port_gives_the_host_ports_compose_publishes(service: str) -> None:
    [mapping] = COMPOSE["services"][service]["ports"]
    first_host_port = int(re.split(r"[-:]", mapping)[0])
    assert topology().ports[service] == first_host_port


def test_the_registry_stand_in_is_ready_before_the_services_that_call_it() -> None:
    waves = [[d.name for d in wave] for wave in topology().waves()]
    assert waves[0] == ["civil-registry"]
    assert {"agreements", "identity", "programs"} <= set(waves[1])
    assert topology().environment("identity")["SINERGI_REGISTRY_URL"] == topology().url(
        "civil-registry"
    )


def test_a_topology_of_some_services_refuses_an_unknown_one() -> None:
    assert [d.name for d in topology(services=("programs",)).services] == ["programs"]
    with pytest.raises(ValueError, match="unknown services: billing"):
        topology(services=("programs", "billing"))


def test_free_ports_are_used_when_no_base_port_is_given() -> None:
    ports = topology(base_port=0).ports
    assert len(set(ports.values())) == len(ports)
    assert all(port > 0 for port in ports.values())


def test_only_hashes_of_the_api_keys_reach_the_services() -> None:
    s = Secrets.generate()
    t = topology(secrets=s)
    for service in ("agreements", "identity", "programs"):
        env = t.environment(service)
        assert s.staff_key not in json.dumps(env)
        entries = json.loads(env[f"SINERGI_{service.upper()}_API_KEYS"])
        assert {"name": "local-staff", "role": "staff", "sha256": hash_api_key(s.staff_key)} in (
            entries
        )
    identity_roles = {
        e["role"] for e in json.loads(t.environment("identity")["SINERGI_IDENTITY_API_KEYS"])
    }
    agreements_roles = {
        e["role"] for e in json.loads(t.environment("agreements")["SINERGI_AGREEMENTS_API_KEYS"])
    }
    assert identity_roles == {"staff", "registration"}
    assert agreements_roles == {"staff"}


def test_extra_settings_reach_the_platform_services_but_not_the_stand_in() -> None:
    t = topology(
        extra_env={"SINERGI_TODAY": "2024-06-01"},
        service_env={"identity": {"SINERGI_REGISTRY_RESYNC_ENABLED": "false"}},
        api_keys=(ApiKey("bnnk", Role.PARTNER, "k" * 32, partner="bnnk"),),
    )
    assert t.environment("programs")["SINERGI_TODAY"] == "2024-06-01"
    assert "SINERGI_TODAY" not in t.environment("civil-registry")
    assert t.environment("identity")["SINERGI_REGISTRY_RESYNC_ENABLED"] == "false"
    assert json.loads(t.environment("programs")["SINERGI_PROGRAMS_API_KEYS"])[0]["partner"] == (
        "bnnk"
    )
    override = t.compose_override()["services"]
    assert override["agreements"]["environment"]["SINERGI_TODAY"] == "2024-06-01"
    assert "civil-registry" not in override


def test_sqlite_files_live_in_the_state_dir_unless_a_database_url_is_given() -> None:
    t = topology(database_urls={"programs": "postgresql://postgres@db/sinergi_programs"})
    assert t.environment("agreements")["SINERGI_AGREEMENTS_DATABASE_URL"] == (
        "sqlite:////srv/sinergi/agreements.db"
    )
    assert t.environment("programs")["SINERGI_PROGRAMS_DATABASE_URL"].endswith("/sinergi_programs")


def test_the_compose_env_file_gives_every_setting_compose_requires() -> None:
    t = topology()
    given = set(t.compose_variables())
    required = required_compose_variables(COMPOSE_TEXT)
    # Only passwords (any random value does) are left to the e2e helper to make up.
    assert all("PASSWORD" in name for name in required - given), required - given
    lines = compose_env_file(t, COMPOSE_TEXT).splitlines()
    values = dict(line.split("=", 1) for line in lines)
    assert required <= values.keys()
    assert all(
        v.startswith("'") and v.endswith("'") and "'" not in v[1:-1] for v in values.values()
    )
    assert json.loads(values["SINERGI_AGREEMENTS_API_KEYS"][1:-1])[0]["role"] == "staff"


def test_secrets_are_kept_between_runs_and_the_environment_overrides_them(tmp_path: Path) -> None:
    path = tmp_path / "state" / "secrets.json"
    first = Secrets.load_or_create(path, environ={})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Secrets.load_or_create(path, environ={}) == first
    given = Secrets.load_or_create(path, environ={"SINERGI_STAFF_KEY": "given-staff-key"})
    assert given.staff_key == "given-staff-key"
    assert given.nik_key == first.nik_key
    assert json.loads(path.read_text())["staff_key"] == first.staff_key


def test_secrets_missing_from_an_older_file_are_added(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"staff_key": "old-staff-key"}))
    loaded = Secrets.load_or_create(path, environ={})
    assert loaded.staff_key == "old-staff-key"
    assert json.loads(path.read_text())["lookup_key"] == loaded.lookup_key
