"""Waiting in integration tests: for a condition, or for a group to have consumed a stream."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis


def wait_until(predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def consumed_everything(r: redis.Redis, stream: str, group: str) -> bool:
    """``group`` has been delivered the stream's last entry and holds none pending."""
    if not r.xlen(stream):
        return True
    groups = {g["name"].decode(): g for g in r.xinfo_groups(stream)}
    if group not in groups:
        return False
    last = r.xrevrange(stream, count=1)
    info = groups[group]
    return bool(last and info["last-delivered-id"] == last[0][0] and int(info["pending"]) == 0)


def skipped_by(group: str) -> frozenset[str]:
    """Event types a service's group acknowledges without applying (no inbox row)."""
    from services.agreements.subscribers import SKIPPED_TYPES as AGREEMENTS_SKIPS
    from services.identity.subscribers import SKIPPED_TYPES as IDENTITY_SKIPS
    from services.programs.read_models import SKIPPED_TYPES as PROGRAMS_SKIPS

    skips = {"agreements": AGREEMENTS_SKIPS, "identity": IDENTITY_SKIPS, "programs": PROGRAMS_SKIPS}
    return skips.get(group, frozenset())
