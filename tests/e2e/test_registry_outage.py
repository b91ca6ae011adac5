"""A matching job survives a civil-registry outage with faults around it (issue 6).

CI runs a 20 s outage over 2,000 people; `sinergi prove registry-outage --outage-s 600`
runs the full one (``SINERGI_OUTAGE_S``, ``SINERGI_OUTAGE_PEOPLE``, and
``SINERGI_OUTAGE_REPORT`` for the figures as JSON). See tests/e2e/registry_outage.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.registry_outage import run_registry_outage


def test_a_matching_job_resumes_by_itself_after_the_registry_was_unreachable(
    tmp_path: Path, redis_url: str
) -> None:
    people = int(os.environ.get("SINERGI_OUTAGE_PEOPLE", "2000"))
    outage_s = float(os.environ.get("SINERGI_OUTAGE_S", "20"))

    run = run_registry_outage(tmp_path / "state", redis_url, people=people, outage_s=outage_s)

    if report := os.environ.get("SINERGI_OUTAGE_REPORT"):
        Path(report).write_text(run.to_json())
    print(run.to_json())
    assert run.status == "completed"
    assert run.identity_alive
    assert run.per_person == {"(1, done)": people}  # every person: exactly one result
    assert run.batch_size_mismatches == 0
    assert run.transactions_checked_at_registry > 0
    assert run.transactions_with_other_people == 0  # no transaction id for different people
    assert run.done_while_down == 0
    assert "open" in run.breaker_states_seen_in_outage
    assert run.breaker_gauge_max_in_outage == 2.0
    assert run.breaker_at_end == "closed"
    # Readiness does not depend on the registry: the roster is still served (documented).
    assert run.ready_not_200 == 0
    requests = run.registry_requests
    assert any(k.endswith(":ConnectError") for k in requests), requests  # process stopped
    assert any(k.endswith(":http_503") for k in requests), requests  # 5xx and the 503 outage
    assert any(k.endswith(":throttled") for k in requests), requests  # 429
    assert any(k.endswith(":timeout") for k in requests), requests
    assert run.audit_items >= people
