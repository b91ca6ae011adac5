"""One short kill -9 trial (tests/chaos): replicas die under load, every effect stays once.

The full run is `sinergi prove chaos` (20 trials of 100,000 events); this one produces a few
thousand events. `SINERGI_CHAOS_EVENTS` and `SINERGI_CHAOS_SEED` change it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.trial import run_trial
from tests.infra import postgres_available

pytestmark = pytest.mark.postgres


def test_replicas_killed_at_random_under_load_leave_every_effect_exactly_once(
    tmp_path: Path,
) -> None:
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable in CI (set SINERGI_TEST_POSTGRES_URL)")
        pytest.skip("PostgreSQL is not reachable (set SINERGI_TEST_POSTGRES_URL)")
    seed = int(os.environ.get("SINERGI_CHAOS_SEED", "4242"))
    events = int(os.environ.get("SINERGI_CHAOS_EVENTS", "2000"))

    result = run_trial(seed, events, tmp_path)

    failed = {name: problems for name, problems in result.checks.items() if problems}
    assert not failed, f"seed {seed}: {result.row()}\n{failed}"
    assert result.kills >= 1, f"seed {seed}: no replica was killed ({result.row()})"
    assert result.sessions > 0 and result.events >= events
