"""The dashboard's pages work as its own Redis user (deploy/redis/users.acl.in), nothing more.

A redis-server of the test's own loads the ACL file the real render-acl.sh writes; the
dashboard runs as user `dashboard`: it reads the three streams through its group, and its
operations page reads the dead letters and every group's lag with the read-only selector.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.infra import free_port
from tests.integration.dashboard.support import (
    IDENTITY_STREAM,
    World,
    add_dead_letter,
    auth,
    make_settings,
    running,
)
from tests.integration.deployment.support import acl_password_variables, render_acl


@pytest.fixture
def acl_server(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not on PATH")
    passwords = {name: secrets.token_hex(16) for name in acl_password_variables()}
    rendered = render_acl(tmp_path / "users.acl", passwords)
    assert rendered.returncode == 0, rendered.stderr
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)]
    args += ["--save", "", "--appendonly", "no", "--aclfile", str(tmp_path / "users.acl")]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    admin = redis.Redis(port=port, username="admin", password=passwords["REDIS_ADMIN_PASSWORD"])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                admin.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield port, passwords
    finally:
        admin.close()
        process.terminate()
        process.wait(timeout=10)


def test_the_dashboard_runs_and_shows_operations_as_its_own_redis_user(
    acl_server: tuple[int, dict[str, str]], tmp_path: Path
) -> None:
    port, passwords = acl_server
    own = f"redis://dashboard:{passwords['REDIS_DASHBOARD_PASSWORD']}@127.0.0.1:{port}/0"
    admin = redis.Redis(port=port, username="admin", password=passwords["REDIS_ADMIN_PASSWORD"])
    settings = make_settings(f"sqlite:///{tmp_path / 'dashboard.db'}", own)
    try:
        with running(settings) as client:
            world = World(admin)
            agreement = world.agreement()
            world.admit("Gilang Ramadhan", nik_status="validated")
            add_dead_letter(
                admin,
                stream=IDENTITY_STREAM,
                group="programs",
                reason_code="invalid_payload",
                reason="a field is missing",
            )
            world.settle()

            assert client.get("/health/ready").status_code == 200
            assert agreement in client.get("/agreements", headers=auth("staff")).text
            html = client.get("/operations", headers=auth("staff")).text
            assert "Jumlah pesan gagal: 1" in html
            assert len(re.findall(r'data-group="dashboard"', html)) == 3
    finally:
        admin.close()
