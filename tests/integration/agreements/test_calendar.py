"""The calendar moves agreements through their life, once per transition, on any replica."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from services.agreements import commands, domain, handlers
from services.agreements.migrations import upgrade_to_head
from services.agreements.unit_of_work import UnitOfWork
from shared.persistence.engine import make_engine
from tests.integration.agreements.support import (
    FACILITY,
    SIGNATORIES,
    STAFF,
    Api,
    make_settings,
    running,
)

TRANSITIONS = (
    "sinergi.agreement.activated",
    "sinergi.agreement.expiring",
    "sinergi.agreement.expired",
    "sinergi.action_plan.item_assessed",
)


def outbox_types(database_url: str) -> Counter[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT event_type FROM outbox"))
            return Counter(row[0] for row in rows if row[0] in TRANSITIONS)
    finally:
        engine.dispose()


def test_advancing_the_calendar_moves_signed_to_active_to_expiring_to_expired(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    def on(day: date) -> Iterator[tuple[Api, str]]:
        settings = make_settings(database_url, redis_url, tmp_path / "docs", today=day)
        with running(settings) as client:
            yield Api(client), day.isoformat()

    # 2023-12-15: signed for a year from 2024-01-01; not started yet
    for api, _ in on(date(2023, 12, 15)):
        partner_id = api.register_partner("dinkes")
        agreement_id = api.draft(partner_id, "2024-01-01", "2024-12-31", ["mobile_clinic"])
        api.sign(agreement_id, "2023-12-10")
        api.add_item(agreement_id, "mobile_clinic", "2024-01-01", "2024-03-31", 4)
        assert api.agreement(agreement_id)["status"] == "signed"

    seen: list[tuple[str, str, str]] = []
    for day in (date(2024, 1, 1), date(2024, 4, 1), date(2024, 10, 2), date(2025, 1, 1)):
        for api, today in on(day):
            for _ in range(2):  # a second run on the same day changes nothing
                tick = api.client.post("/calendar/advance", headers=STAFF)
                assert tick.status_code == 200, tick.text
                assert tick.json()["today"] == today
            detail = api.agreement(agreement_id)
            seen.append((today, detail["status"], detail["action_plan"][0]["milestone"]))

    assert seen == [
        ("2024-01-01", "active", "open"),
        ("2024-04-01", "active", "not_met"),  # the item's period ended with nothing realised
        ("2024-10-02", "expiring", "not_met"),  # 90 days before the end
        ("2025-01-01", "expired", "not_met"),
    ]
    assert outbox_types(database_url) == Counter(dict.fromkeys(TRANSITIONS, 1))


def replica(db: Engine, day: date, start: threading.Barrier, errors: list[BaseException]) -> None:
    """One replica's calendar round, begun at the same moment as the other's."""
    try:
        start.wait(timeout=10)
        handlers.advance_calendar(lambda: UnitOfWork(db), handlers.Calendar(lambda: day, 90))
    except BaseException as error:
        errors.append(error)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    upgrade_to_head(db)
    try:
        yield db
    finally:
        db.dispose()


def test_two_replicas_racing_emit_each_transition_exactly_once(
    engine: Engine, database_url: str
) -> None:
    """Both replicas run every day's round at the same moment, each with its own engine."""
    agreements = 6
    signed_on = handlers.Calendar(lambda: date(2023, 12, 15), 90)
    for n in range(agreements):
        partner_id = handlers.register_partner(
            commands.RegisterPartner(FACILITY, f"p{n}", f"Partner {n}", domain.PartnerKind.HEALTH),
            UnitOfWork(engine),
        )
        agreement_id = handlers.draft_agreement(
            commands.DraftAgreement(
                facility=FACILITY,
                partner_id=partner_id,
                facility_number=f"PKS-{n}",
                partner_number=f"P-{n}",
                title="Health",
                programme_kinds=("mobile_clinic",),
                start_date=date(2024, 1, 1),
                end_date=date(2024, 12, 31),
            ),
            UnitOfWork(engine),
        )
        handlers.add_action_plan_item(
            commands.AddActionPlanItem(
                agreement_id=agreement_id,
                programme_kind="mobile_clinic",
                description="Visits",
                target_quantity=2,
                unit="visits",
                period_start=date(2024, 1, 1),
                period_end=date(2024, 3, 31),
                responsible=domain.Party.PARTNER,
            ),
            UnitOfWork(engine),
        )
        handlers.sign_agreement(
            commands.SignAgreement(
                agreement_id,
                date(2023, 12, 10),
                tuple(
                    commands.SignatoryInput(domain.Party(s["party"]), s["name"], s["position"])
                    for s in SIGNATORIES
                ),
            ),
            UnitOfWork(engine),
            signed_on,
        )
    replicas = [make_engine(database_url), make_engine(database_url)]
    try:
        for day in (date(2024, 1, 1), date(2024, 4, 1), date(2024, 10, 2), date(2025, 1, 1)):
            start = threading.Barrier(len(replicas))
            errors: list[BaseException] = []
            threads = [
                threading.Thread(target=replica, args=(db, day, start, errors)) for db in replicas
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert not any(thread.is_alive() for thread in threads)
            assert errors == []
    finally:
        for db in replicas:
            db.dispose()

    assert outbox_types(database_url) == Counter(dict.fromkeys(TRANSITIONS, agreements))
    with engine.connect() as connection:
        statuses = connection.execute(sa.text("SELECT status, version FROM agreement")).all()
    # drafted, signed, item added, activated, assessed, expiring, expired
    assert sorted(statuses) == [("expired", 7)] * agreements
