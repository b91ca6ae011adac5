"""docs/operations.md stays true: its commands run, its settings and alerts exist.

The `ops deadletters …` lines run through the real CLI; the `rcli …` lines run with
redis-cli as the `ops` user against a Redis loading the real ACL file, and the backup
command as `admin`.
"""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import redis
from pydantic_settings import BaseSettings
from ruamel.yaml import YAML
from typer.testing import CliRunner

from services.cli.main import app as cli
from tests.integration.deployment.support import ROOT, AclRedis

DOC = (ROOT / "docs" / "operations.md").read_text()


def doc_lines(prefix: str) -> list[list[str]]:
    """Command lines of the doc's code blocks starting with ``prefix``, comments dropped."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", DOC, flags=re.DOTALL):
        for line in block.splitlines():
            if line.startswith(prefix + " "):
                lines.append(shlex.split(line, comments=True)[1:])
    assert lines, f"no `{prefix}` line in docs/operations.md"
    return lines


def settings_fields() -> set[str]:
    fields = set()
    for config in sorted((ROOT / "services").glob("*/config.py")):
        module = importlib.import_module(f"services.{config.parent.name}.config")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseSettings):
                fields |= set(value.model_fields)
    return fields


def test_every_setting_of_every_service_is_documented() -> None:
    missing = sorted(f for f in settings_fields() if f"SINERGI_{f.upper()}" not in DOC)
    assert missing == []


def test_every_variable_of_the_env_example_is_documented() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if "=" in line and line[:1].isalpha()]
    assert [name for name in names if name not in DOC] == []


def test_every_alert_has_its_section_and_runbook_anchor() -> None:
    rules = YAML(typ="safe").load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule["alert"]
            assert f"\n### {name}\n" in DOC, f"docs/operations.md has no section {name}"
            assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}"


def test_the_dead_letter_commands_of_the_doc_run(redis_url: str) -> None:
    runner = CliRunner()
    for args in doc_lines("ops"):
        result = runner.invoke(cli, [*args, "--redis-url", redis_url])
        if args[:2] == ["deadletters", "replay"] and "--all" not in args:
            # An id from the example: the command ran and found no such dead letter.
            assert result.exit_code == 1 and "no dead letter" in result.output, args
        else:
            assert result.exit_code == 0, (args, result.output)


def redis_cli(server: AclRedis, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("redis-cli")
    if binary is None:
        pytest.skip("redis-cli is not on PATH")
    command = [binary, "-p", str(server.port), "--user", user, "--pass", server.password(user)]
    return subprocess.run(
        [*command, "--no-auth-warning", *args], capture_output=True, text=True, check=False
    )


def test_the_redis_commands_of_the_doc_are_allowed_to_the_ops_user(
    acl_redis: AclRedis, tmp_path: Path
) -> None:
    admin = redis.Redis.from_url(acl_redis.url("admin"))
    admin.flushall()
    for stream in ("sinergi.agreements", "sinergi.identity", "sinergi.programs"):
        for group in ("agreements", "identity", "programs"):
            admin.xgroup_create(stream, group, id="0", mkstream=True)
    admin.close()
    for args in doc_lines("rcli"):
        result = redis_cli(acl_redis, "ops", *args)
        refused = re.search(r"NOPERM|ERR|WRONGTYPE", result.stdout + result.stderr)
        assert result.returncode == 0 and not refused, (args, result.stdout, result.stderr)

    backup = redis_cli(acl_redis, "admin", "--rdb", str(tmp_path / "redis.rdb"))
    assert backup.returncode == 0, backup.stderr
    assert (tmp_path / "redis.rdb").stat().st_size > 0
    log = redis_cli(acl_redis, "admin", "ACL", "LOG", "10")
    assert log.returncode == 0 and "ERR" not in log.stdout
