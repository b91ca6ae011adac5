"""The registry stand-in in-process (httpx + ASGITransport, lifespan run), and helpers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from services.civil_registry.app import RegistryService, create_app
from services.civil_registry.config import RegistrySettings
from services.civil_registry.population import Person, Population
from tests.infra import free_port

CLIENT = "rutan-barabai"
CLIENT_TOKEN = "dev-token"
OTHER_CLIENT = "lapas-martapura"
OTHER_TOKEN = "other-token"
ADMIN_TOKEN = "admin-token"
POPULATION = 2000
SEED = 2023

AUTH = {"Authorization": f"Bearer {CLIENT_TOKEN}"}
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def settings(**overrides: Any) -> RegistrySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "registry_population": POPULATION,
        "registry_seed": SEED,
        "registry_client_tokens": {CLIENT_TOKEN: CLIENT, OTHER_TOKEN: OTHER_CLIENT},
        "registry_admin_token": ADMIN_TOKEN,
        "registry_callback_backoff_s": 0.05,
        "registry_callback_timeout_s": 2.0,
    }
    values.update(overrides)
    return RegistrySettings(**values)


@pytest.fixture(scope="session")
def population() -> Population:
    """The same people the app builds (same size and seed)."""
    return Population(POPULATION, SEED)


@dataclass
class Registry:
    app: FastAPI
    http: httpx.AsyncClient

    @property
    def service(self) -> RegistryService:
        svc = self.app.state.registry_service
        assert isinstance(svc, RegistryService)
        return svc

    async def faults(self, **config: Any) -> httpx.Response:
        response = await self.http.put("/admin/faults", json=config, headers=ADMIN)
        assert response.status_code == 200, response.text
        return response


@contextlib.asynccontextmanager
async def running_registry(**overrides: Any) -> AsyncIterator[Registry]:
    app = create_app(settings(**overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:
            yield Registry(app, http)


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    async with running_registry() as running:
        yield running


def item(
    reference_id: str,
    nik: str,
    query_type: str = "idtype-value",
    id_type: str = "NIK",
    **verify: str,
) -> dict[str, Any]:
    criteria: dict[str, Any] = {"query_type": query_type, "query": {"type": id_type, "value": nik}}
    if verify:
        criteria["verify"] = verify
    return {
        "reference_id": reference_id,
        "timestamp": "2025-01-10T08:00:00+08:00",
        "search_criteria": criteria,
    }


def full_verify(person: Person) -> dict[str, str]:
    return {
        "name": person.name,
        "birth_place": person.birth_place,
        "birth_date": person.birth_date.isoformat(),
        "mother_name": person.mother_name,
        "sex": person.sex,
    }


def search_body(
    items: list[dict[str, Any]],
    *,
    sender_id: str = CLIENT,
    callback_url: str | None = None,
    message_id: str | None = None,
    transaction_id: str | None = None,
) -> dict[str, Any]:
    return {
        "header": {
            "version": "1.0.0",
            "message_id": message_id or str(uuid.uuid4()),
            "message_ts": "2025-01-10T08:00:00+08:00",
            "action": "search",
            "sender_id": sender_id,
            "receiver_id": "dukcapil",
            "total_count": len(items),
            "callback_url": callback_url,
        },
        "message": {
            "transaction_id": transaction_id or str(uuid.uuid4()),
            "search_request": items,
        },
    }


@dataclass
class Receiver:
    """A tiny callback receiver on a real port; answers the scripted statuses in turn."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    attempts: int = 0

    async def wait(self, count: int = 1, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.received) < count:
                await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def callback_receiver(statuses: list[int] | None = None) -> AsyncIterator[Receiver]:
    port = free_port()
    receiver = Receiver(f"http://127.0.0.1:{port}/on-search", statuses=list(statuses or []))

    async def on_search(request: Request) -> JSONResponse:
        body = await request.json()
        receiver.attempts += 1
        status = receiver.statuses.pop(0) if receiver.statuses else 200
        if status < 300:
            receiver.received.append(body)
        return JSONResponse({"ack_status": "ACK" if status < 300 else "NACK"}, status_code=status)

    app = FastAPI()
    app.add_api_route("/on-search", on_search, methods=["POST"])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.02)
