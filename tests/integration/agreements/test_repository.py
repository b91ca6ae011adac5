"""Aggregates survive a round trip through the unit of work; stale writers lose cleanly."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from services.agreements import domain
from services.agreements.migrations import upgrade_to_head
from services.agreements.repository import ConcurrencyError
from services.agreements.unit_of_work import UnitOfWork
from shared.persistence.engine import make_engine

FACILITY = "rutan-barabai"
TODAY = date(2024, 6, 1)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    upgrade_to_head(db)
    try:
        yield db
    finally:
        db.dispose()


def _document(name: str, content: bytes) -> domain.Document:
    return domain.Document(name, "application/pdf", hashlib.sha256(content).hexdigest(), 123)


def a_full_agreement(engine: Engine) -> tuple[domain.Partner, domain.Agreement]:
    """An agreement with everything an agreement can hold, saved in one unit of work."""
    with UnitOfWork(engine) as uow:
        partner = domain.Partner.register(
            "p-health", FACILITY, "dinkes", "Dinas Kesehatan", domain.PartnerKind.HEALTH
        )
        uow.partners.add(partner)
        agreement = domain.Agreement.draft(
            "a-health",
            FACILITY,
            partner,
            "W.18-PK-01",
            "440/01/DINKES",
            "Health services for people in custody",
            ["mobile_clinic", "drug_counselling"],
            domain.Period(date(2023, 3, 13), date(2026, 3, 12)),
        )
        agreement.sign(
            date(2023, 3, 13),
            [
                domain.Signatory(domain.Party.FACILITY, "Kepala Rutan", "Head"),
                domain.Signatory(domain.Party.PARTNER, "Kepala Dinas", "Head of agency"),
            ],
            TODAY,
            [],
        )
        agreement.add_action_plan_item(
            "i-clinic",
            "mobile_clinic",
            "Mobile clinic visits",
            12,
            "visits",
            domain.Period(date(2024, 1, 1), date(2024, 12, 31)),
            domain.Party.PARTNER,
        )
        agreement.add_action_plan_item(
            "i-drugs",
            "drug_counselling",
            "Drug-abuse counselling",
            24,
            "sessions",
            domain.Period(date(2023, 4, 1), date(2023, 12, 31)),
            domain.Party.BOTH,
        )
        agreement.record_realisation("i-clinic", "s-1", 2, date(2024, 2, 3), 1)
        agreement.record_realisation("i-clinic", "s-2", 1, date(2024, 3, 3), 4)
        agreement.record_realisation("i-drugs", "s-3", 5, date(2023, 5, 5), 2)
        agreement.advance(TODAY)  # assesses the ended drugs item: partially met
        agreement.amend(
            "longer title",
            TODAY,
            partner=partner,
            other_agreements=[],
            today=TODAY,
            title="Health services and counselling for people in custody",
        )
        # two documents in one transaction, the later one with the lower digest
        agreement.attach_document(_document("pks.pdf", b"z-signed agreement"))
        agreement.attach_document(_document("annex.pdf", b"a-annex"))
        assert sorted(d.sha256 for d in agreement.documents) != [
            d.sha256 for d in agreement.documents
        ], "the documents must be attached out of digest order"
        uow.agreements.add(agreement)
        uow.commit()
    return partner, agreement


def test_an_agreement_saved_and_loaded_back_is_equal(engine: Engine) -> None:
    partner, built = a_full_agreement(engine)

    with UnitOfWork(engine) as uow:
        loaded = uow.agreements.get(built.id)
        loaded_partner = uow.partners.get(partner.id)

    assert loaded == built
    assert loaded_partner == partner
    assert loaded is not None
    assert loaded.status is domain.AgreementStatus.ACTIVE
    assert [s.party for s in loaded.signatories] == [domain.Party.FACILITY, domain.Party.PARTNER]
    assert [i.id for i in loaded.action_plan] == ["i-clinic", "i-drugs"]
    assert loaded.item("i-clinic").realised_quantity == 3
    assert loaded.item("i-drugs").milestone is domain.MilestoneStatus.PARTIALLY_MET
    assert loaded.amendments[0].changes.keys() == {"title"}
    assert [d.name for d in loaded.documents] == ["pks.pdf", "annex.pdf"]
    assert loaded.version == built.version


def _outbox_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one())


def _item_ids(engine: Engine, agreement_id: str) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id FROM action_plan_item WHERE agreement_id = :a"), {"a": agreement_id}
        )
        return {row[0] for row in rows}


def test_a_stale_concurrent_update_fails_and_leaves_nothing_half_written(engine: Engine) -> None:
    """Two units of work load the same agreement and both change it.

    PostgreSQL: both read version N; the second to commit gets ConcurrencyError and none of
    its rows (item, document, outbox) remain. SQLite serializes writers (BEGIN IMMEDIATE),
    so the second loads after the first commits: no stale write, no lost update.
    """
    _, built = a_full_agreement(engine)
    agreement_id, version = built.id, built.version
    outbox_before = _outbox_count(engine)
    first_loaded, second_loaded = threading.Event(), threading.Event()
    outcomes: dict[str, BaseException | None] = {}

    def writer(name: str, mine: threading.Event, other: threading.Event) -> None:
        try:
            with UnitOfWork(engine) as uow:
                agreement = uow.agreements.get(agreement_id)
                assert agreement is not None
                mine.set()
                other.wait(timeout=1.0)  # PostgreSQL: both hold version N here
                agreement.add_action_plan_item(
                    f"i-{name}",
                    "mobile_clinic",
                    f"item of {name}",
                    3,
                    "visits",
                    domain.Period(date(2025, 1, 1), date(2025, 6, 30)),
                    domain.Party.PARTNER,
                )
                agreement.attach_document(_document(f"{name}.pdf", name.encode()))
                uow.commit()
            outcomes[name] = None
        except BaseException as error:
            outcomes[name] = error

    threads = [
        threading.Thread(target=writer, args=("one", first_loaded, second_loaded)),
        threading.Thread(target=writer, args=("two", second_loaded, first_loaded)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)

    failed = {name: error for name, error in outcomes.items() if error is not None}
    with UnitOfWork(engine) as uow:
        final = uow.agreements.get(agreement_id)
    assert final is not None
    items = _item_ids(engine, agreement_id) - {"i-clinic", "i-drugs"}
    if engine.dialect.name == "sqlite":
        assert failed == {}
        assert items == {"i-one", "i-two"}
        assert final.version == version + 4
        assert _outbox_count(engine) == outbox_before + 4
        return
    assert len(failed) == 1, outcomes
    ((loser, error),) = failed.items()
    assert isinstance(error, ConcurrencyError)
    winner = "two" if loser == "one" else "one"
    assert items == {f"i-{winner}"}
    assert final.version == version + 2
    assert {d.name for d in final.documents} == {"pks.pdf", "annex.pdf", f"{winner}.pdf"}
    assert _outbox_count(engine) == outbox_before + 2
