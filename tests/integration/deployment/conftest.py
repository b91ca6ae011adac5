"""A redis-server of the deployment tests' own, loading the ACL file render-acl.sh writes."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from tests.infra import free_port
from tests.integration.deployment.support import AclRedis, acl_password_variables, render_acl


@pytest.fixture(scope="module")
def acl_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not on PATH")
    workdir = tmp_path_factory.mktemp("acl-redis")
    passwords = {name: secrets.token_hex(16) for name in acl_password_variables()}
    rendered = render_acl(workdir / "users.acl", passwords)
    assert rendered.returncode == 0, rendered.stderr
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
    args += ["--save", "", "--appendonly", "no", "--aclfile", str(workdir / "users.acl")]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = AclRedis(port, passwords)
    admin = redis.Redis.from_url(server.url("admin"), socket_connect_timeout=1)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                admin.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"redis-server did not start with the ACL file:\n{output}")
                time.sleep(0.05)
        yield server
    finally:
        admin.close()
        process.terminate()
        process.wait(timeout=10)
