"""Redis restarts (SHUTDOWN, AOF everysec) in the middle of a load on the three services.

No command the APIs accepted is lost, every event is applied exactly once, the services
recover in the same processes, and readiness goes red while Redis is away and green after.
`sinergi prove outages` runs this longer (see tests/e2e/outages.py for the settings).
"""

from __future__ import annotations

import time
from pathlib import Path

from services.cli.topology import Topology
from tests.e2e.outages import (
    SERVICES,
    AofRedis,
    Load,
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
    wait_drained,
    wait_for,
)
from tests.e2e.processes import ProcessServices, running_topology
from tests.privacy import PrivacyScanner


def test_a_redis_restart_mid_load_loses_no_accepted_command_and_needs_no_service_restart(
    tmp_path: Path, privacy_scan: PrivacyScanner
) -> None:
    load_s = setting("SINERGI_OUTAGE_LOAD_S", 6)
    outage_s = setting("SINERGI_OUTAGE_S", 4)
    server = AofRedis(tmp_path / "redis").start()
    config = topology_config(tmp_path / "state", server.url)
    try:
        with running_topology(config, kind="processes") as running:
            assert isinstance(running, ProcessServices)
            urls = {name: running.url(name) for name in SERVICES}
            pids = running.processes.pids()
            world = build_world(urls)
            timeline = Timeline(urls).run()
            load = Load(urls, world, timeline).run()
            time.sleep(load_s)

            down = timeline.now()
            server.shutdown()
            time.sleep(outage_s)
            server.start()
            up = timeline.now()

            time.sleep(load_s)
            load.stop()
            wait_for(
                lambda: all(timeline.transitions[n][-1][1] == 200 for n in SERVICES),
                60,
                "every service ready again",
            )
            timeline.stop()

            databases = {name: Topology(config).database_url(name) for name in SERVICES}
            client = server.client()
            with engines_of(databases) as engines:
                drain_started = time.monotonic()
                state = wait_drained(client, engines, timeout=120)
                drain_s = time.monotonic() - drain_started
                once = exactly_once_problems(client, engines)
                final = delivery_state(client, engines)
            effects = effects_problems(urls, world, load.attempts)
            effects += half_written(urls, world, load.attempts, cut_at=down).problems
            privacy_scan.scan_streams(client)
            client.close()
            same_processes = running.processes.pids() == pids and not running.processes.exited()

            recovery = {name: timeline.red_then_green(name, down) for name in SERVICES}
            summary = load.summary((down, up))
            report(
                figures(
                    suite="redis-restart",
                    load_s=load_s,
                    outage_s=outage_s,
                    down_at=down,
                    up_at=up,
                    commands=summary,
                    readiness=timeline.transitions,
                    red_because=timeline.red_because,
                    ready_again_after_redis_s={
                        n: round(r[1] - up, 2) if r else None for n, r in recovery.items()
                    },
                    drain_s=round(drain_s, 2),
                    delivered=final,
                    same_processes=same_processes,
                    problems=once + effects,
                )
            )
            print(summary, timeline.transitions, recovery, final)

            assert same_processes, f"a service restarted or exited: {running.processes.exited()}"
            for name in SERVICES:
                assert "redis" in timeline.failed_checks.get(name, set()), timeline.failed_checks
            for name, window in recovery.items():
                assert window is not None, f"{name} readiness never went red and green again"
                assert window[0] <= up + 1.0, f"{name} went red only after Redis was back"
            assert state.drained, f"not drained: {state}"
            assert final.dead_letters == 0
            assert not once, once
            assert not effects, effects
            during = summary.get("during", {})
            accepted = sum(kinds.get("accepted", 0) for kinds in during.values())
            assert accepted > 0, f"no command accepted while Redis was down: {during}"
            # The outbox keeps commands independent of Redis: only ordinary conflicts refused.
            refused = {status for kinds in during.values() for status in kinds} - {
                "accepted",
                "409",
            }
            assert not refused, f"commands refused while Redis was down: {during}"
            server_errors = [a for a in load.attempts if a.status >= 500 and "Traceback" in a.body]
            assert not server_errors, server_errors[:3]
    finally:
        server.close()
