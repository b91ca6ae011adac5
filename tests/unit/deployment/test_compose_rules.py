"""Rules of compose.yaml beyond the Compose schema (that one: tests/integration/deployment).

Every service built here (whatever services exist) waits for healthy dependencies, reports
readiness on /health/ready, migrates on start and takes only settings its code knows; no
secret is written in the file, and every variable it reads has a placeholder in .env.example.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[3]
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEYS?$")
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[?-])([^}]*))?\}")
PLACEHOLDERS = {"change-me", "", "[]", "{}"}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load((ROOT / "compose.yaml").read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def built() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services().items() if "build" in s}


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "write environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def settings_class(service: dict[str, Any]) -> type[BaseSettings]:
    directory = Path(service["build"]["dockerfile"]).parent.name
    module = importlib.import_module(f"services.{directory}.config")
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseSettings)
        and value.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"services.{directory}.config should define one settings class"
    return classes[0]


BUILT = built()
per_service = pytest.mark.parametrize("name", sorted(BUILT))


@per_service
def test_a_service_waits_for_the_dependencies_it_uses_to_be_healthy(name: str) -> None:
    service = BUILT[name]
    depends = service.get("depends_on", {})
    assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
    for dependency, rule in depends.items():
        assert rule.get("condition") == "service_healthy", f"{name} -> {dependency}"
        assert "healthcheck" in services()[dependency], f"{dependency} has no healthcheck"
    used = " ".join(environment(service).values())
    for host in ("redis", "postgres"):
        if f"@{host}:" in used:
            assert host in depends, f"{name} uses {host} without waiting for it"


@per_service
def test_a_service_is_healthy_only_when_it_is_ready(name: str) -> None:
    check = BUILT[name].get("healthcheck", {})
    assert "/health/ready" in " ".join(check.get("test", [])), f"{name}: check /health/ready"
    if "depends_on" in BUILT[name]:
        # Readers finish their batch and the outbox flushes before the container is killed.
        assert "stop_grace_period" in BUILT[name]


@per_service
def test_a_service_with_a_database_migrates_it_on_start(name: str) -> None:
    env = environment(BUILT[name])
    for variable in env:
        if variable.endswith("_DATABASE_URL"):
            migrate = variable.removesuffix("_DATABASE_URL") + "_MIGRATE_ON_START"
            assert env.get(migrate) == "true", f"{name}: set {migrate}"


@per_service
def test_a_service_gets_only_settings_its_code_knows(name: str) -> None:
    fields = set(settings_class(BUILT[name]).model_fields)
    common = compose().get("x-service-env", {})
    for variable in [*environment(BUILT[name]), *common]:
        if variable.startswith("SINERGI_"):
            assert variable.removeprefix("SINERGI_").lower() in fields, f"{name}: {variable}?"


def test_no_secret_is_written_in_the_compose_file() -> None:
    text = (ROOT / "compose.yaml").read_text()
    for variable, operator, default in VARIABLE.findall(text):
        if SECRET_NAME.search(variable):
            required = operator == ":?"
            assert required or default in PLACEHOLDERS, f"${{{variable}}} must be required"
    for name, service in services().items():
        for key, value in environment(service).items():
            literal = VARIABLE.sub("", value)
            if SECRET_NAME.search(key):
                assert literal == "", f"{name}: {key} holds a literal value"
            assert not re.search(r"://[^/@\s]*:[^/@\s]+@", literal), f"{name}: {key} password"


def test_every_variable_the_compose_file_reads_is_in_the_env_example() -> None:
    example = env_example()
    used = {match[0] for match in VARIABLE.findall((ROOT / "compose.yaml").read_text())}
    assert used - set(example) == set()
    for variable, value in example.items():
        if SECRET_NAME.search(variable):
            assert value in PLACEHOLDERS or "change-me" in value, f"{variable}: a real secret?"
