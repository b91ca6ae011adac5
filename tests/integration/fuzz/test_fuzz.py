"""Schemathesis against every service's OpenAPI: no 5xx, no answer that breaks its own schema.

CI sends a short run (``SINERGI_FUZZ_CASES`` cases per service, default 100); the full run
(at least 1,000 per service) is ``sinergi prove fuzz``, which runs this same test with a
larger ``SINERGI_FUZZ_CASES`` and collects the figures from ``SINERGI_FUZZ_REPORT``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.fuzz.harness import fuzz
from tests.integration.fuzz.seeded import SERVICES, seeded

CASES = int(os.environ.get("SINERGI_FUZZ_CASES", "100"))
SEED = int(os.environ.get("SINERGI_FUZZ_SEED", "2024"))


@pytest.mark.parametrize("service", SERVICES)
def test_no_generated_request_gets_a_server_error_or_an_answer_outside_the_schema(
    service: str, redis_url: str, tmp_path: Path
) -> None:
    with seeded(service, f"sqlite:///{tmp_path / 'service.db'}", redis_url, tmp_path) as running:
        report = fuzz(running.fuzz_target(), CASES, seed=SEED)

    if target := os.environ.get("SINERGI_FUZZ_REPORT"):
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(json.dumps(report.as_dict()) + "\n")
    assert report.cases >= CASES
    unreached = [label for label, count in report.per_operation.items() if count == 0]
    assert len(report.per_operation) == report.operations, unreached
    problems = "\n".join(str(p) for p in report.failures.values())
    assert not report.failures, f"{len(report.failures)} distinct failure(s):\n{problems}"
