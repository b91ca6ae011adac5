"""Read models rebuilt by replaying the streams from the start equal the ones kept live."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, select

from services.programs.orm import READ_MODEL_TABLES, AgreementViewRow, InmateViewRow
from services.programs.read_models import RebuildReport, rebuild_read_models
from shared.events import build_event
from shared.events.agreements import AgreementActivated
from shared.messaging import ENTRY_FIELD
from shared.messaging.connection import connect
from tests.integration.programs.support import (
    AGREEMENTS_STREAM,
    FACILITY,
    IDENTITY_STREAM,
    OTHER_FACILITY,
    World,
)


def engine_of(client: TestClient) -> Engine:
    app = client.app
    assert isinstance(app, FastAPI)
    engine: Engine = app.state.container.engine
    return engine


def read_model_rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with Session(engine) as session:
        return {
            table.__tablename__: sorted(
                (row.model_dump() for row in session.exec(select(table))), key=repr
            )
            for table in READ_MODEL_TABLES
        }


def rebuild(engine: Engine, redis_url: str) -> RebuildReport:
    async def run() -> RebuildReport:
        client = connect(redis_url)
        try:
            return await rebuild_read_models(engine, client, chunk=3)
        finally:
            await client.aclose()

    return asyncio.run(run())


def a_history(world: World, streams: redis.Redis) -> None:
    """Agreements moving through their lives, items, and people admitted, moved and released."""
    clinic = world.agreement(["mobile_clinic", "drug_counselling"])
    world.item(clinic, "mobile_clinic")
    world.item(clinic, "drug_counselling")
    old = world.agreement(["job_training"], partner="disnaker", end=date(2024, 2, 29))
    world.set_status(old, "expired")
    fire = world.agreement(["fire_drill"], partner="satpolpp")
    world.set_status(fire, "terminated", terminated_on=date(2024, 4, 1))
    world.item(fire, "fire_drill")  # a later fact of a terminated agreement keeps its end date
    world.agreement(["book_loan"], partner="dispersip", status="draft")
    stale = build_event(
        AgreementActivated(
            agreement=world.agreements[clinic].model_copy(update={"status": "draft"})
        ),
        subject=clinic,
        facility=FACILITY,
        sequence=1,
    )
    streams.xadd(AGREEMENTS_STREAM, {ENTRY_FIELD: stale.to_json()})  # older than what is known
    streams.xadd(IDENTITY_STREAM, {ENTRY_FIELD: b"{not an event"})
    first = world.admit("B.I-100/2024", nik_status="unverified")
    world.nik(first, "matched")
    world.nik(first, "validated")
    moved = world.admit("A.III-200/2024")
    world.transfer(moved, OTHER_FACILITY, date(2024, 3, 10))
    released = world.admit("B.IIb-300/2024")
    world.release(released, date(2024, 5, 5))
    world.settle()


def test_a_rebuild_from_the_streams_reproduces_the_live_read_models_exactly(
    client: TestClient, world: World, streams: redis.Redis, redis_url: str
) -> None:
    a_history(world, streams)
    engine = engine_of(client)
    live = read_model_rows(engine)
    with Session(engine) as session, session.begin():
        # damage the read models: a lost row and a wrong one
        session.execute(delete(InmateViewRow))
        session.execute(update(AgreementViewRow).values(status="draft", terminated_on=None))

    report = rebuild(engine, redis_url)

    assert read_model_rows(engine) == live
    assert report.skipped_invalid == 1
    assert report.entries == streams.xlen(AGREEMENTS_STREAM) + streams.xlen(IDENTITY_STREAM)


def test_the_read_models_agree_with_the_last_state_their_sources_published(
    client: TestClient, world: World, streams: redis.Redis, redis_url: str
) -> None:
    a_history(world, streams)
    engine = engine_of(client)
    rebuild(engine, redis_url)

    rows = read_model_rows(engine)
    agreements = {row["agreement_id"]: row for row in rows["agreement_view"]}
    inmates = {row["person_id"]: row for row in rows["inmate_view"]}
    assert {a: (r["status"], r["partner_code"]) for a, r in agreements.items()} == {
        a: (s.status, s.partner_code) for a, s in world.agreements.items()
    }
    assert [r["terminated_on"] for r in agreements.values() if r["status"] == "terminated"] == [
        date(2024, 4, 1)
    ]
    assert {p: (r["nik_status"], r["custody_periods"]) for p, r in inmates.items()} == {
        p: (s.nik_status, [c.model_dump(mode="json") for c in s.custody_periods])
        for p, s in world.inmates.items()
    }
    assert len(rows["action_plan_item_view"]) == 3
