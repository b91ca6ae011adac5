"""deploy/redis/users.acl.in grants each service exactly the streams and keys its code uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from shared.messaging.streams import DEADLETTER_STREAM
from tests.integration.deployment.support import (
    ROOT,
    MessagingService,
    acl_password_variables,
    acl_users,
    messaging_services,
)

SERVICES = messaging_services()
READER = {
    "+xgroup|create",
    "+xreadgroup",
    "+xack",
    "+xautoclaim",
    "+xpending",
    "+xrange",
    "+xinfo|groups",
    "+xinfo|consumers",
    "+xgroup|delconsumer",
}
PUBLISHER = {"+xadd", "+xtrim", "+xrange", "+xpending", "+xinfo|groups"}
BOOKKEEPING = {"+hset", "+hget", "+hmget", "+hincrby", "+hdel"}
LEAST_PRIVILEGE = ("resetkeys", "resetchannels")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load((ROOT / "compose.yaml").read_text())
    return loaded


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return dict(pairs)


def test_without_a_user_and_password_redis_allows_nothing() -> None:
    default = acl_users()["default"]
    assert "off" in default.root.other
    assert default.root.commands == {"-@all"}
    assert default.root.keys == set()


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_a_service_user_may_touch_only_its_own_streams_and_keys(
    service: MessagingService,
) -> None:
    user = acl_users().get(service.name)
    assert user is not None, f"deploy/redis/users.acl.in has no user {service.name}"
    assert user.root.other[:2] == ("on", f"#{{{{REDIS_{service.name.upper()}_PASSWORD}}}}")
    assert all(flag in user.root.other for flag in LEAST_PRIVILEGE)
    assert "-@all" in user.root.commands and "+@all" not in user.root.commands
    # Root: publishing on and trimming its own stream, nothing else.
    assert user.root.keys == ({service.owned_stream} if service.owned_stream else set())
    if service.owned_stream:
        assert user.root.commands >= PUBLISHER
    readers = [s for s in user.selectors if "+xreadgroup" in s.commands]
    assert len(readers) == 1 and readers[0].keys == set(service.subscribed)
    assert readers[0].commands >= READER
    appenders = [s for s in user.selectors if DEADLETTER_STREAM in s.keys]
    assert [s.commands for s in appenders] == [{"+xadd"}]
    keepers = [s for s in user.selectors if s.commands & BOOKKEEPING]
    assert len(keepers) == 1
    assert keepers[0].keys == service.failure_keys and keepers[0].commands == BOOKKEEPING


def test_every_acl_password_comes_from_the_environment_and_has_a_placeholder() -> None:
    redis = compose()["services"]["redis"]
    environment = redis["environment"]
    assert isinstance(environment, dict)
    example = env_example()
    for name in acl_password_variables():
        assert environment.get(name) == f"${{{name}:?set {name} in .env}}"
        assert example.get(name) == "change-me", f".env.example lacks {name}=change-me"


def test_every_service_connects_to_redis_as_its_own_user() -> None:
    users = acl_users()
    for name, service in compose()["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict)
        url = environment.get("SINERGI_REDIS_URL")
        if url is None:
            continue
        found = re.fullmatch(
            r"redis://([a-z_]+):\$\{(REDIS_[A-Z_]+_PASSWORD):\?[^}]*\}@redis:6379/0", url
        )
        assert found, f"{name}: SINERGI_REDIS_URL must name a user and its password variable"
        user, variable = found.groups()
        assert user in users and variable == f"REDIS_{user.upper()}_PASSWORD"
        assert user not in ("admin", "ops", "default"), f"{name} must not connect as {user}"


def test_the_redis_container_loads_the_rendered_acl_file() -> None:
    redis = compose()["services"]["redis"]
    assert redis["entrypoint"] == ["/bin/sh", "/etc/sinergi/redis/start.sh"]
    assert "./deploy/redis:/etc/sinergi/redis:ro" in redis["volumes"]
    start = Path(ROOT / "deploy" / "redis" / "start.sh").read_text()
    assert "--aclfile" in start and "render-acl.sh" in start
    assert "--requirepass" not in str(redis.get("command"))
