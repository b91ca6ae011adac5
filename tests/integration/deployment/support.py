"""What the deployment tests share: the services as the code defines them, and the ACL file.

A service here is a directory of ``services/`` with a ``subscribers`` module (it reads
streams through its consumer group); it owns a stream when it has a ``unit_of_work.STREAM``.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from shared.messaging.connection import connect
from shared.messaging.streams import DEADLETTER_STREAM

ROOT = Path(__file__).resolve().parents[3]
ACL_TEMPLATE = ROOT / "deploy" / "redis" / "users.acl.in"
RENDER_ACL = ROOT / "deploy" / "redis" / "render-acl.sh"
FAILURE_HASHES = ("reasons", "failures", "crashes")


@dataclass(frozen=True)
class MessagingService:
    name: str
    owned_stream: str | None
    subscribed: tuple[str, ...]
    groups: tuple[str, ...]

    @property
    def failure_keys(self) -> frozenset[str]:
        return frozenset(
            f"{DEADLETTER_STREAM}.{kind}.{group}"
            for kind in FAILURE_HASHES
            for group in self.groups
        )


def messaging_services() -> list[MessagingService]:
    found = []
    for path in sorted((ROOT / "services").glob("*/subscribers.py")):
        name = path.parent.name
        module = importlib.import_module(f"services.{name}.subscribers")
        # Building subscriptions only wraps the factory (engine or unit of work) in handlers.
        subscriptions = module.subscriptions(None)
        owned = None
        if (path.parent / "unit_of_work.py").exists():
            owned = importlib.import_module(f"services.{name}.unit_of_work").STREAM
        found.append(
            MessagingService(
                name=name,
                owned_stream=owned,
                subscribed=tuple(dict.fromkeys(s.stream for s in subscriptions)),
                groups=tuple(dict.fromkeys(s.group for s in subscriptions)),
            )
        )
    return found


@dataclass(frozen=True)
class AclRules:
    """One selector (or a user's root permissions): its commands and key patterns."""

    commands: frozenset[str]
    keys: frozenset[str]
    other: tuple[str, ...]


@dataclass(frozen=True)
class AclUser:
    name: str
    root: AclRules
    selectors: tuple[AclRules, ...]


def acl_lines() -> list[str]:
    """The template's ACL lines, as render-acl.sh keeps them (no comments, no blanks)."""
    return [
        line
        for line in ACL_TEMPLATE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def acl_users() -> dict[str, AclUser]:
    users = {}
    for line in acl_lines():
        tokens = re.findall(r"\([^)]*\)|\S+", line)
        assert tokens[0] == "user", line
        name, rules = tokens[1], tokens[2:]
        root = _rules([token for token in rules if not token.startswith("(")])
        selectors = tuple(_rules(token[1:-1].split()) for token in rules if token.startswith("("))
        users[name] = AclUser(name, root, selectors)
    return users


def _rules(tokens: list[str]) -> AclRules:
    commands = frozenset(token for token in tokens if token[:1] in "+-")
    keys = frozenset(token.split("~", 1)[1] for token in tokens if "~" in token)
    other = tuple(token for token in tokens if token not in commands and "~" not in token)
    return AclRules(commands, keys, other)


def acl_password_variables() -> list[str]:
    return sorted(set(re.findall(r"\{\{([A-Z0-9_]+)\}\}", "\n".join(acl_lines()))))


def render_acl(output: Path, passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real deploy/redis/render-acl.sh with these variables in its environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("REDIS_")}
    return subprocess.run(
        ["sh", str(RENDER_ACL), str(ACL_TEMPLATE), str(output)],
        env=env | passwords,
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass(frozen=True)
class AclRedis:
    port: int
    passwords: dict[str, str]

    def url(self, user: str | None = None) -> str:
        if user is None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"redis://{user}:{self.password(user)}@127.0.0.1:{self.port}/0"

    def password(self, user: str) -> str:
        return self.passwords[f"REDIS_{user.upper()}_PASSWORD"]

    def client(self, user: str | None = None) -> aioredis.Redis:
        return connect(self.url(user))
