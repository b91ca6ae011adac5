"""Every service's /metrics follows the Prometheus naming conventions, and the alerts use them.

Each service found under services/ (a package with a config and a create_app) is started
from its own app factory on SQLite and the run's Redis, asked for /health/ready, then
scraped; the exposition is parsed with prometheus_client's own parser.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic_settings import BaseSettings
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[3]
# Standard collectors of prometheus_client keep their own names.
STANDARD_PREFIXES = ("process_", "python_")
NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
UNITS = ("_seconds", "_bytes")
NON_BASE_UNITS = re.compile(r"_(milliseconds|ms|microseconds|us|minutes|hours|kb|mb|kilobytes)\b")
TIME_WORDS = re.compile(r"duration|latency|elapsed|_time\b|_seconds\b")
# Labels whose values grow with the data: one series per person, event or request.
UNBOUNDED_LABELS = {
    "id",
    "nik",
    "person_id",
    "event_id",
    "entry_id",
    "correlation_id",
    "transaction_id",
    "subject",
    "path",
    "url",
    "user",
    "email",
    "name",
}
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


def service_packages() -> list[str]:
    found = []
    for config in sorted((ROOT / "services").glob("*/config.py")):
        name = config.parent.name
        if (config.parent / "bootstrap.py").exists() or (config.parent / "app.py").exists():
            found.append(name)
    return found


def create_app(package: str, settings: BaseSettings) -> FastAPI:
    for module_name in ("bootstrap", "app"):
        try:
            module = importlib.import_module(f"services.{package}.{module_name}")
        except ModuleNotFoundError:
            continue
        factory = getattr(module, "create_app", None)
        if factory is not None:
            app: FastAPI = factory(settings)
            return app
    raise AssertionError(f"services.{package} has no create_app")


def settings_for(package: str, redis_url: str, tmp_path: Path) -> BaseSettings:
    module = importlib.import_module(f"services.{package}.config")
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseSettings)
        and value.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"services.{package}.config: one settings class"
    settings_class = classes[0]
    values: dict[str, Any] = {}
    for field in settings_class.model_fields:
        if field == "redis_url":
            values[field] = redis_url
        elif field == "environment":
            values[field] = "test"
        elif field == "consumer_name":
            values[field] = f"{package}-metrics-test"
        elif field.endswith("_database_url"):
            values[field] = f"sqlite:///{tmp_path / f'{package}.db'}"
        elif field.endswith("_dir"):
            values[field] = tmp_path / field
        elif field in ("identity_nik_key", "identity_lookup_key"):
            from services.identity.protection import generate_key

            values[field] = generate_key()
        elif field == "registry_population":
            values[field] = 50
        elif field == "registry_resync_enabled":
            values[field] = False
    settings: BaseSettings = settings_class(**values)
    return settings


@dataclass(frozen=True)
class Family:
    service: str
    name: str
    type: str
    help: str
    samples: list[tuple[str, dict[str, str]]]


@pytest.fixture(scope="module")
def scraped(
    redis_base_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[str, list[Family]]]]:
    """Per service: the raw exposition and its parsed families."""
    result: dict[str, tuple[str, list[Family]]] = {}
    for package in service_packages():
        tmp_path = tmp_path_factory.mktemp(package)
        app = create_app(package, settings_for(package, redis_base_url, tmp_path))
        with TestClient(app) as client:
            client.get("/health/ready")
            client.get("/no/such/route")
            response = client.get("/metrics")
        assert response.status_code == 200, f"{package}: GET /metrics"
        text = response.text
        families = [
            Family(
                package,
                family.name,
                family.type,
                family.documentation,
                [(sample.name, dict(sample.labels)) for sample in family.samples],
            )
            for family in text_string_to_metric_families(text)
        ]
        result[package] = (text, families)
    yield result


def declared_types(text: str) -> dict[str, str]:
    """``# TYPE`` lines as exposed: the counter's name there carries its ``_total``."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE))


def _created_of(name: str, declared: dict[str, str]) -> bool:
    """The creation-time gauge prometheus_client adds beside a counter or histogram."""
    base = name.removesuffix("_created")
    return base != name and (f"{base}_total" in declared or base in declared)


def test_every_service_exposes_metrics(scraped: dict[str, tuple[str, list[Family]]]) -> None:
    assert set(scraped) == set(service_packages())
    for package, (_, families) in scraped.items():
        assert any(f.name.startswith("sinergi_") for f in families), package


def test_every_metric_name_follows_the_prometheus_conventions(
    scraped: dict[str, tuple[str, list[Family]]],
) -> None:
    problems = []
    for package, (text, _) in scraped.items():
        declared = declared_types(text)
        for name, kind in declared.items():
            where = f"{package}: {name} ({kind})"
            if name.startswith(STANDARD_PREFIXES) or _created_of(name, declared):
                continue
            if not NAME.match(name):
                problems.append(f"{where}: not snake_case")
            if not name.startswith("sinergi_"):
                problems.append(f"{where}: no sinergi_ prefix")
            if kind == "counter" and not name.endswith("_total"):
                problems.append(f"{where}: a counter's name ends in _total")
            if kind != "counter" and name.endswith("_total"):
                problems.append(f"{where}: only counters end in _total")
            if NON_BASE_UNITS.search(name):
                problems.append(f"{where}: use base units (_seconds, _bytes)")
            if TIME_WORDS.search(name) and not name.endswith("_seconds"):
                problems.append(f"{where}: a time is measured in _seconds")
            if kind in ("histogram", "summary") and not name.endswith(UNITS):
                problems.append(f"{where}: a distribution names its unit")
    assert problems == []


def test_every_metric_is_documented_and_labelled_by_bounded_values(
    scraped: dict[str, tuple[str, list[Family]]],
) -> None:
    problems = []
    for package, (_, families) in scraped.items():
        for family in families:
            if family.name.startswith(STANDARD_PREFIXES):
                continue
            if not family.help.strip():
                problems.append(f"{package}: {family.name} has no HELP")
            for sample_name, labels in family.samples:
                unbounded = set(labels) & UNBOUNDED_LABELS
                if unbounded:
                    problems.append(f"{package}: {sample_name} labelled by {sorted(unbounded)}")
                if labels.get("service", package) != package:
                    problems.append(f"{package}: {sample_name} service={labels['service']}")
                if not all(NAME.match(label) for label in labels):
                    problems.append(f"{package}: {sample_name} label names {sorted(labels)}")
    assert problems == []


def test_no_metric_ever_carries_a_nik(scraped: dict[str, tuple[str, list[Family]]]) -> None:
    for package, (_, families) in scraped.items():
        for family in families:
            for _, labels in family.samples:
                assert not any(SIXTEEN_DIGITS.search(v) for v in labels.values()), package


def test_the_alert_rules_use_only_metrics_the_services_expose(
    scraped: dict[str, tuple[str, list[Family]]],
) -> None:
    exposed = set()
    for text, _ in scraped.values():
        exposed |= set(declared_types(text))
        exposed |= {
            line.split("{")[0].split()[0] for line in text.splitlines() if line[:1].isalpha()
        }
    rules = YAML(typ="safe").load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            used = set(re.findall(r"\bsinergi_[a-z0-9_]+", rule["expr"]))
            if not used:  # Prometheus's own `up` of each scrape target
                assert rule["expr"].startswith("up{"), rule["alert"]
            assert used <= exposed, f"{rule['alert']}: {sorted(used - exposed)} not exposed"
