"""The production topology file is valid against the Compose specification."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[3]


def test_compose_yaml_validates_against_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_with_a_dockerfile_is_in_the_compose_topology() -> None:
    compose = YAML(typ="safe").load((ROOT / "compose.yaml").read_text())
    built = {
        service["build"]["dockerfile"]
        for service in compose["services"].values()
        if "build" in service
    }
    dockerfiles = {str(path.relative_to(ROOT)) for path in (ROOT / "services").glob("*/Dockerfile")}
    assert dockerfiles == built


def test_no_secret_has_a_default_in_the_compose_topology() -> None:
    text = (ROOT / "compose.yaml").read_text()
    for name in ("REDIS_ADMIN_PASSWORD", "POSTGRES_PASSWORD", "SINERGI_IDENTITY_NIK_KEY"):
        assert f"${{{name}:?" in text, f"{name} must be required, not defaulted"
