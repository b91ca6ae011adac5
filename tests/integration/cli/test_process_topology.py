"""ProcessTopology used as a context manager: each service runs once, and is gone after."""

from __future__ import annotations

from pathlib import Path

from services.cli.supervisor import ProcessTopology
from services.cli.topology import Secrets, Topology, TopologyConfig


def processes_listening_on(port: int) -> list[int]:
    """Pids of live processes started to serve ``port`` (from their environment)."""
    marker = f"SINERGI_HTTP_PORT={port}\0".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (
                marker in (proc / "environ").read_bytes()
                and b"State:\tZ" not in (proc / "status").read_bytes()
            ):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_entering_a_topology_that_was_started_already_does_not_start_a_second_copy(
    tmp_path: Path, redis_url: str
) -> None:
    config = TopologyConfig(
        state_dir=tmp_path / "state",
        redis_url=redis_url,
        secrets=Secrets.generate(),
        services=("civil-registry",),
        registry_population=200,
    )

    topology = Topology(config)
    port = topology.ports["civil-registry"]

    with ProcessTopology(topology).start() as running:
        during = processes_listening_on(port)
        started = list(running.pids().values())

    assert len(during) == 1
    assert during == started
    assert processes_listening_on(port) == []
