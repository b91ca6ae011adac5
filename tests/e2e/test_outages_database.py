"""PostgreSQL unreachable for a while under load (a proxy in front of it is cut, the shared
server keeps running): commands get a 503 problem document with Retry-After, nothing is
half written, readiness goes red and green again, the readers pause without dead-lettering
and resume, and every event is applied exactly once afterwards.
`sinergi prove outages` runs this longer (see tests/e2e/outages.py for the settings).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.messaging.streams import DEADLETTER_STREAM
from tests.e2e.outages import (
    SERVICES,
    AofRedis,
    Load,
    PostgresProxy,
    Timeline,
    build_world,
    delivery_state,
    effects_problems,
    engines_of,
    exactly_once_problems,
    figures,
    half_written,
    report,
    setting,
    topology_config,
    unapplied,
    wait_drained,
    wait_for,
)
from tests.e2e.processes import ProcessServices, running_topology
from tests.infra import postgres_available, postgres_database
from tests.privacy import PrivacyScanner

pytestmark = pytest.mark.postgres


@contextlib.contextmanager
def databases() -> Iterator[dict[str, str]]:
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable in CI (set SINERGI_TEST_POSTGRES_URL)")
        pytest.skip("PostgreSQL is not reachable (set SINERGI_TEST_POSTGRES_URL)")
    with (
        postgres_database() as agreements,
        postgres_database() as identity,
        postgres_database() as programs,
    ):
        yield {"agreements": agreements, "identity": identity, "programs": programs}


def through(url: str, port: int) -> str:
    """The same database reached through the proxy's port."""
    head, name = url.rsplit("/", 1)
    scheme, _, authority = head.partition("://")
    user = authority.split("@", 1)[0] + "@" if "@" in authority else ""
    return f"{scheme}://{user}127.0.0.1:{port}/{name}"


def test_a_database_outage_refuses_commands_with_503_and_loses_or_half_writes_nothing(
    tmp_path: Path, privacy_scan: PrivacyScanner
) -> None:
    load_s = setting("SINERGI_OUTAGE_LOAD_S", 6)
    outage_s = setting("SINERGI_OUTAGE_S", 4)
    server = AofRedis(tmp_path / "redis").start()
    proxies = {name: PostgresProxy().start() for name in SERVICES}
    try:
        with databases() as direct:
            proxied = {name: through(url, proxies[name].port) for name, url in direct.items()}
            config = topology_config(tmp_path / "state", server.url, proxied)
            with running_topology(config, kind="processes") as running:
                assert isinstance(running, ProcessServices)
                urls = {name: running.url(name) for name in SERVICES}
                pids = running.processes.pids()
                world = build_world(urls)
                timeline = Timeline(urls).run()
                load = Load(urls, world, timeline).run()
                time.sleep(load_s)

                # Every database away; then agreements' and identity's back while programs'
                # stays away: their events reach programs' readers, which must pause.
                down = timeline.now()
                for proxy in proxies.values():
                    proxy.cut()
                time.sleep(outage_s)
                proxies["agreements"].restore()
                proxies["identity"].restore()
                up = timeline.now()
                programs_backlog = failures_counted = 0
                with server.client() as client:
                    while timeline.now() < up + outage_s:
                        backlog = unapplied(client, "programs")
                        programs_backlog = max(programs_backlog, backlog)
                        failures = int(client.hlen(f"{DEADLETTER_STREAM}.failures.programs"))
                        failures_counted = max(failures_counted, failures)
                        time.sleep(0.25)
                    dead_letters_during = int(client.xlen(DEADLETTER_STREAM))
                proxies["programs"].restore()
                programs_up = timeline.now()

                time.sleep(load_s)
                load.stop()
                wait_for(
                    lambda: all(timeline.transitions[n][-1][1] == 200 for n in SERVICES),
                    60,
                    "every service ready again",
                )
                timeline.stop()

                with engines_of(direct) as engines, server.client() as client:
                    drain_started = time.monotonic()
                    state = wait_drained(client, engines, timeout=120)
                    drain_s = time.monotonic() - drain_started
                    once = exactly_once_problems(client, engines)
                    final = delivery_state(client, engines)
                    privacy_scan.scan_streams(client)
                effects = effects_problems(urls, world, load.attempts)
                half = half_written(urls, world, load.attempts, cut_at=down)
                same_processes = running.processes.pids() == pids and not running.processes.exited()

        recovery = {name: timeline.red_then_green(name, down) for name in SERVICES}
        summary = load.summary((down, up))
        programs_refused = load.summary((up, programs_up))
        refused = [a for a in load.attempts if not a.accepted]
        report(
            figures(
                suite="database-outage",
                load_s=load_s,
                outage_s=outage_s,
                down_at=down,
                up_at=up,
                commands=summary,
                commands_while_only_programs_was_away=programs_refused.get("during", {}),
                readiness=timeline.transitions,
                red_because=timeline.red_because,
                programs_up_at=programs_up,
                ready_again_after_database_s={
                    n: round(r[1] - (programs_up if n == "programs" else up), 2) if r else None
                    for n, r in recovery.items()
                },
                programs_backlog_while_paused=programs_backlog,
                dead_letters_during=dead_letters_during,
                failures_counted_during=failures_counted,
                drain_s=round(drain_s, 2),
                delivered=final,
                same_processes=same_processes,
                imports_resumed=half.imports_resumed,
                in_doubt=half.in_doubt,
                problems=once + effects + half.problems,
            )
        )
        print(summary, timeline.transitions, recovery, final)
        for attempt in refused[:5]:
            print(attempt)

        assert same_processes
        for name in SERVICES:
            assert "database" in timeline.failed_checks.get(name, set()), timeline.failed_checks
        for name, window in recovery.items():
            assert window is not None, f"{name} readiness never went red and green again"
            assert window[0] <= down + 1.0, f"{name} went red late: {window}"
            back = programs_up if name == "programs" else up
            assert window[1] >= back, f"{name} was green before its database was back: {window}"
        # A command started just before the cut may be answered during it; one sent after
        # the restore may still meet a connection the pool had not yet found dead.
        cut = [a for a in refused if down - 1.0 <= a.at < up + 2.0]
        late = [a for a in refused if up <= a.at < programs_up + 2.0]
        assert cut, "no command was refused while the database was away"
        for attempt in refused:
            if attempt.status == 409:  # an item racing a realisation on the same agreement
                assert "changed by someone else" in attempt.body, attempt
                continue
            assert attempt in cut or (attempt.kind == "session" and attempt in late), attempt
            assert attempt.status == 503, attempt
            assert attempt.content_type == "application/problem+json", attempt
            assert attempt.retry_after and int(attempt.retry_after) > 0, attempt
            assert "Traceback" not in attempt.body and "psycopg" not in attempt.body, attempt
        assert programs_backlog > 0, "programs' readers never had events to hold back"
        assert failures_counted == 0, "the outage counted as failed deliveries"
        assert dead_letters_during == 0
        assert state.drained, f"not drained: {state}"
        assert final.dead_letters == 0
        assert not once, once
        assert not effects, effects
        assert not half.problems, half.problems
    finally:
        for proxy in proxies.values():
            proxy.close()
        server.close()
