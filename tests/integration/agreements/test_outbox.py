"""A use case's rows and its outbox rows commit together; the relay publishes them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.agreements import commands, domain, handlers
from services.agreements.migrations import upgrade_to_head
from services.agreements.unit_of_work import UnitOfWork
from shared.events import parse_event
from shared.persistence.engine import make_engine
from tests.integration.agreements.support import (
    FACILITY,
    SIGNATORIES,
    STAFF,
    Api,
    events_of,
    stream_events,
    wait_until,
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    upgrade_to_head(db)
    try:
        yield db
    finally:
        db.dispose()


def outbox_types(engine: Engine) -> Counter[str]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT event_type FROM outbox"))
        return Counter(row[0] for row in rows)


def status_of(engine: Engine, agreement_id: str) -> tuple[str, int]:
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT status, version FROM agreement WHERE id = :id"), {"id": agreement_id}
        ).one()
        return str(row[0]), int(row[1])


def calendar(day: date) -> handlers.Calendar:
    return handlers.Calendar(lambda: day, 90)


def signatories() -> tuple[commands.SignatoryInput, ...]:
    return tuple(
        commands.SignatoryInput(domain.Party(s["party"]), s["name"], s["position"])
        for s in SIGNATORIES
    )


def draft(
    engine: Engine, partner_id: str, start: date, end: date, kinds: list[str], **kw: str
) -> str:
    return handlers.draft_agreement(
        commands.DraftAgreement(
            FACILITY,
            partner_id,
            f"F-{start}-{kinds[0]}",
            "P-1",
            "Health",
            tuple(kinds),
            start,
            end,
            **kw,
        ),
        UnitOfWork(engine),
    )


def test_a_use_case_commits_its_rows_and_its_outbox_rows_together(engine: Engine) -> None:
    partner_id = handlers.register_partner(
        commands.RegisterPartner(FACILITY, "dinkes", "Dinas Kesehatan", domain.PartnerKind.HEALTH),
        UnitOfWork(engine),
    )
    agreement_id = draft(
        engine, partner_id, date(2024, 1, 1), date(2026, 12, 31), ["mobile_clinic"]
    )
    handlers.sign_agreement(
        commands.SignAgreement(agreement_id, date(2023, 12, 1), signatories()),
        UnitOfWork(engine),
        calendar(date(2024, 6, 1)),
    )

    assert status_of(engine, agreement_id) == ("active", 3)
    assert outbox_types(engine) == Counter(
        {
            "sinergi.partner.registered": 1,
            "sinergi.agreement.drafted": 1,
            "sinergi.agreement.signed": 1,
            "sinergi.agreement.activated": 1,
        }
    )


def test_a_failing_use_case_leaves_neither_its_rows_nor_its_outbox_rows(engine: Engine) -> None:
    """Signing a second renewal changes the renewal, then fails on the prior: nothing stays."""
    partner_id = handlers.register_partner(
        commands.RegisterPartner(FACILITY, "dinkes", "Dinas Kesehatan", domain.PartnerKind.HEALTH),
        UnitOfWork(engine),
    )
    prior = draft(
        engine,
        partner_id,
        date(2021, 1, 1),
        date(2023, 12, 31),
        ["mobile_clinic", "drug_counselling"],
    )
    handlers.sign_agreement(
        commands.SignAgreement(prior, date(2020, 12, 1), signatories()),
        UnitOfWork(engine),
        calendar(date(2021, 6, 1)),
    )
    first = draft(
        engine, partner_id, date(2024, 1, 1), date(2026, 12, 31), ["mobile_clinic"], renews=prior
    )
    second = draft(
        engine, partner_id, date(2024, 1, 1), date(2026, 12, 31), ["drug_counselling"], renews=prior
    )
    today = calendar(date(2024, 6, 1))
    handlers.sign_agreement(
        commands.SignAgreement(first, date(2023, 12, 1), signatories()), UnitOfWork(engine), today
    )
    before = outbox_types(engine)
    second_before, prior_before = status_of(engine, second), status_of(engine, prior)

    with pytest.raises(domain.RenewalError) as refused:
        handlers.sign_agreement(
            commands.SignAgreement(second, date(2023, 12, 1), signatories()),
            UnitOfWork(engine),
            today,
        )

    assert refused.value.code == "already_renewed"
    assert status_of(engine, second) == second_before == ("draft", 1)
    assert status_of(engine, prior) == prior_before
    assert outbox_types(engine) == before


def test_a_refused_request_writes_no_rows_and_publishes_nothing(
    client: TestClient, api: Api, engine: Engine
) -> None:
    partner_id = api.register_partner("dinkes")
    before = outbox_types(engine)

    response = client.post(
        "/agreements",
        json={
            "partner_id": partner_id,
            "facility_number": "F-1",
            "partner_number": "P-1",
            "title": "Too long",
            "programme_kinds": ["mobile_clinic"],
            "start_date": "2024-01-01",
            "end_date": "2028-01-01",
        },
        headers=STAFF,
    )

    assert response.status_code == 422
    assert outbox_types(engine) == before
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM agreement")).scalar_one() == 0


def test_published_events_carry_facility_subject_sequence_and_the_callers_correlation_id(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    correlated = {**STAFF, "X-Correlation-ID": "barabai-2023-03-13-signing"}
    partner_id = api.register_partner("dinkes")
    agreement_id = api.draft(partner_id, "2024-01-01", "2026-12-31", ["mobile_clinic"])
    signed = client.post(
        f"/agreements/{agreement_id}/sign",
        json={"signed_on": "2023-12-20", "signatories": SIGNATORIES},
        headers=correlated,
    )
    assert signed.status_code == 204
    assert signed.headers["X-Correlation-ID"] == "barabai-2023-03-13-signing"
    api.add_item(agreement_id, "mobile_clinic", "2024-01-01", "2024-12-31")

    wait_until(
        lambda: events_of(streams, type_="sinergi.action_plan.item_added"),
        what="the item_added event on sinergi.agreements",
    )
    events = stream_events(streams)
    for event in events:
        parse_event(json.dumps(event))  # valid against the catalogue
        assert event["facility"] == FACILITY
        assert event["source"] == "sinergi/agreements"
    of_agreement = [e for e in events if e["subject"] == agreement_id]
    assert [e["type"] for e in of_agreement] == [
        "sinergi.agreement.drafted",
        "sinergi.agreement.signed",
        "sinergi.agreement.activated",
        "sinergi.action_plan.item_added",
    ]
    assert [e["sequence"] for e in of_agreement] == [1, 2, 3, 4]
    assert [e["subject"] for e in events if e["type"].startswith("sinergi.partner.")] == [
        partner_id
    ]
    by_signing = [e for e in of_agreement if e["correlationid"] == "barabai-2023-03-13-signing"]
    assert [e["type"] for e in by_signing] == [
        "sinergi.agreement.signed",
        "sinergi.agreement.activated",
    ]
    assert by_signing[0]["data"]["agreement"]["status"] == "signed"
    assert by_signing[1]["data"]["agreement"]["status"] == "active"
    # a request without the header gets a correlation id of its own, never the caller's
    assert of_agreement[0]["correlationid"] == of_agreement[0]["id"]
