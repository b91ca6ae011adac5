"""The legal basis read model: agreements from `sinergi.agreements` that cover NIK matching."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session

from services.identity.legal_basis import LegalBasis, NoLegalBasisError, legal_basis
from services.identity.orm import LegalBasisRow
from shared.events import build_event
from shared.events.agreements import (
    AgreementActivated,
    AgreementState,
    AgreementTerminated,
)
from shared.events.envelope import EventPayload
from shared.messaging import ENTRY_FIELD
from tests.integration.identity.support import (
    AGREEMENTS_STREAM,
    FACILITY,
    OTHER_FACILITY,
    engine_of,
    wait_until,
)

DUKCAPIL_PKS = "11111111-1111-4111-8111-111111111111"
CLINIC_PKS = "22222222-2222-4222-8222-222222222222"
GROUP = "identity"


def state(agreement_id: str = DUKCAPIL_PKS, **changes: Any) -> AgreementState:
    values: dict[str, Any] = {
        "agreement_id": agreement_id,
        "partner_id": "partner-dukcapil",
        "partner_code": "dukcapil",
        "facility_number": "W.18.PAS.PAS.22-PK.01.01-08",
        "partner_number": "470/123/Disdukcapil",
        "title": "Pemadanan dan pengesahan NIK WBP",
        "programme_kinds": ["nik_matching", "ektp_recording"],
        "start_date": date(2023, 3, 13),
        "end_date": date(2026, 3, 12),
        "status": "active",
        "signed_on": date(2023, 3, 13),
    }
    values.update(changes)
    return AgreementState(**values)


def publish(r: redis.Redis, payload: EventPayload, sequence: int, facility: str = FACILITY) -> None:
    agreement = getattr(payload, "agreement")  # noqa: B009 - every agreement fact carries it
    event = build_event(
        payload, subject=agreement.agreement_id, facility=facility, sequence=sequence
    )
    assert event.source == "sinergi/agreements"
    r.xadd(AGREEMENTS_STREAM, {ENTRY_FIELD: event.to_json()})


def consumed_everything(r: redis.Redis) -> bool:
    """The service's group has read the stream's last entry and acknowledged every entry."""
    if not r.exists(AGREEMENTS_STREAM):
        return False
    groups = {g["name"].decode(): g for g in r.xinfo_groups(AGREEMENTS_STREAM)}
    if GROUP not in groups:
        return False
    last = r.xrevrange(AGREEMENTS_STREAM, count=1)
    info = groups[GROUP]
    return bool(last and info["last-delivered-id"] == last[0][0] and int(info["pending"]) == 0)


def settled(client: TestClient, r: redis.Redis) -> None:
    wait_until(lambda: consumed_everything(r), what="the agreements events to be consumed")


def basis(client: TestClient, on: date, facility: str = FACILITY) -> LegalBasis:
    with Session(engine_of(client)) as session:
        return legal_basis(session, facility, on)


def row(client: TestClient, agreement_id: str = DUKCAPIL_PKS) -> LegalBasisRow | None:
    with Session(engine_of(client)) as session:
        return session.get(LegalBasisRow, agreement_id)


def test_an_agreement_in_force_covering_nik_matching_is_the_legal_basis(
    client: TestClient, streams: redis.Redis
) -> None:
    publish(streams, AgreementActivated(agreement=state()), sequence=3)
    settled(client, streams)

    found = basis(client, date(2024, 6, 1))

    assert found == LegalBasis(DUKCAPIL_PKS, "W.18.PAS.PAS.22-PK.01.01-08", "dukcapil")
    assert basis(client, date(2023, 3, 13)) == found  # first day
    assert basis(client, date(2026, 3, 12)) == found  # last day
    for outside in (date(2023, 3, 12), date(2026, 3, 13)):
        with pytest.raises(NoLegalBasisError):
            basis(client, outside)


def test_an_agreement_not_covering_matching_or_at_another_facility_is_no_basis(
    client: TestClient, streams: redis.Redis
) -> None:
    clinic = state(CLINIC_PKS, partner_code="dinkes", programme_kinds=["mobile_clinic"])
    publish(streams, AgreementActivated(agreement=clinic), sequence=2)
    publish(streams, AgreementActivated(agreement=state()), sequence=2, facility=OTHER_FACILITY)
    settled(client, streams)

    assert row(client, CLINIC_PKS) is not None
    with pytest.raises(NoLegalBasisError) as refused:
        basis(client, date(2024, 6, 1))
    assert FACILITY in str(refused.value)
    assert basis(client, date(2024, 6, 1), OTHER_FACILITY).agreement_id == DUKCAPIL_PKS


def test_an_older_event_does_not_overwrite_a_newer_one(
    client: TestClient, streams: redis.Redis
) -> None:
    publish(streams, AgreementActivated(agreement=state(end_date=date(2027, 3, 12))), 5)
    publish(streams, AgreementActivated(agreement=state(status="signed")), 4)
    settled(client, streams)

    kept = row(client)

    assert kept is not None
    assert (kept.sequence, kept.status, kept.end_date) == (5, "active", date(2027, 3, 12))
    assert basis(client, date(2026, 12, 1)).agreement_id == DUKCAPIL_PKS


def test_a_terminated_agreement_stops_being_a_basis(
    client: TestClient, streams: redis.Redis
) -> None:
    publish(streams, AgreementActivated(agreement=state()), sequence=3)
    settled(client, streams)
    assert basis(client, date(2024, 6, 1)).agreement_id == DUKCAPIL_PKS

    publish(
        streams,
        AgreementTerminated(
            agreement=state(status="terminated"),
            reason="replaced by a new agreement",
            terminated_on=date(2024, 6, 1),
        ),
        sequence=4,
    )
    settled(client, streams)

    assert row(client) is not None and row(client).status == "terminated"  # type: ignore[union-attr]
    with pytest.raises(NoLegalBasisError):
        basis(client, date(2024, 6, 1))


def test_the_same_event_delivered_twice_is_applied_once(
    client: TestClient, streams: redis.Redis
) -> None:
    event = build_event(
        AgreementActivated(agreement=state()), subject=DUKCAPIL_PKS, facility=FACILITY, sequence=3
    )
    streams.xadd(AGREEMENTS_STREAM, {ENTRY_FIELD: event.to_json()})
    streams.xadd(AGREEMENTS_STREAM, {ENTRY_FIELD: event.to_json()})
    settled(client, streams)

    kept = row(client)

    assert kept is not None and kept.sequence == 3
