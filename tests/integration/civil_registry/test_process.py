"""The stand-in as a real process: `python -m services.civil_registry` on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.civil_registry.population import Population
from tests.infra import free_port
from tests.integration.civil_registry.conftest import (
    ADMIN,
    ADMIN_TOKEN,
    AUTH,
    CLIENT,
    CLIENT_TOKEN,
    full_verify,
    item,
    search_body,
)

SIZE = 5000
SEED = 77


@dataclass
class Server:
    url: str
    log: Path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
    env.update(
        SINERGI_HTTP_HOST="127.0.0.1",
        SINERGI_HTTP_PORT=str(port),
        SINERGI_REGISTRY_CLIENT_TOKENS=json.dumps({CLIENT_TOKEN: CLIENT}),
        SINERGI_REGISTRY_ADMIN_TOKEN=ADMIN_TOKEN,
        SINERGI_REGISTRY_POPULATION=str(SIZE),
        SINERGI_REGISTRY_SEED=str(SEED),
        SINERGI_LOG_LEVEL="DEBUG",
    )
    log = tmp_path / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.civil_registry"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[3],
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    pytest.fail(f"registry exited early:\n{log.read_text()}")
                try:
                    if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"registry did not become ready:\n{log.read_text()}")
                time.sleep(0.1)
            yield Server(url, log)
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_real_process_search_timeout_and_logs(server: Server) -> None:
    population = Population(SIZE, SEED)
    people = [population.person(i) for i in range(SIZE - 1000, SIZE)]
    with httpx.Client(base_url=server.url, timeout=10) as http:
        sync = search_body(
            [item(f"s{i}", p.nik, **full_verify(p)) for i, p in enumerate(people[:100])]
        )
        response = http.post("/registry/sync/search", json=sync, headers=AUTH)
        assert response.status_code == 200
        results = response.json()["message"]["search_response"]
        assert all(set(r["data"]["verification"].values()) == {"SESUAI"} for r in results)

        body = search_body([item(f"a{i}", p.nik, name=p.name) for i, p in enumerate(people)])
        ack = http.post("/registry/async/search", json=body, headers=AUTH)
        assert ack.status_code == 202
        txn = {"transaction_id": body["message"]["transaction_id"]}
        deadline = time.monotonic() + 10
        while (
            status := http.post("/registry/txn/status", json=txn, headers=AUTH)
        ).status_code == 202:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert status.status_code == 200
        assert len(status.json()["message"]["search_response"]) == 1000

        faults = {"timeout_rate": 1.0, "hang_s": 2.0}
        assert http.put("/admin/faults", json=faults, headers=ADMIN).status_code == 200
        hanging = search_body([item("t", people[0].nik)])
        with pytest.raises(httpx.ReadTimeout):
            http.post("/registry/sync/search", json=hanging, headers=AUTH, timeout=0.3)
        assert http.put("/admin/faults", json={}, headers=ADMIN).status_code == 200
        # The hung request was accepted: retrying with the same ids is a duplicate.
        retry = http.post("/registry/sync/search", json=hanging, headers=AUTH)
        assert retry.status_code == 409
        fresh = http.post(
            "/registry/sync/search", json=search_body([item("t", people[0].nik)]), headers=AUTH
        )
        assert fresh.status_code == 200

    time.sleep(0.2)
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.strip()]
    assert all(line["service"] == "civil_registry" for line in lines)
    messages = [line["message"] for line in lines]
    assert any(m.startswith(f"population of {SIZE} people built in") for m in messages)
    text = server.log.read_text()
    for p in people:
        assert p.nik not in text
        assert p.mother_name not in text
    assert "[NIK]" not in text  # nothing even reached the redaction filter
