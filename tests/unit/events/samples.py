"""One minimal, valid payload per catalogue entry, and events built from them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.events import agreements, identity, programs
from shared.events.catalogue import build_event
from shared.events.envelope import CloudEvent, EventPayload

PARTNER = agreements.PartnerState(
    partner_id="partner-1", code="BLK", name="Balai Latihan Kerja", kind="training", sectors=[]
)
AGREEMENT = agreements.AgreementState(
    agreement_id="agreement-1",
    partner_id="partner-1",
    partner_code="BLK",
    facility_number="W10.PAS.1-2025",
    partner_number="BLK/7/2025",
    title="Welding training",
    programme_kinds=["vocational"],
    start_date=date(2025, 1, 1),
    end_date=date(2026, 12, 31),
    status="active",
)
ITEM = agreements.ActionPlanItemState(
    item_id="item-1",
    programme_kind="vocational",
    description="Welding course",
    target_quantity=20,
    unit="participants",
    period_start=date(2025, 1, 1),
    period_end=date(2025, 6, 30),
    responsible="both",
    realised_quantity=0,
    milestone="open",
)
SESSION = programs.SessionState(
    session_id="session-1",
    agreement_id="agreement-1",
    partner_code="BLK",
    programme_kind="vocational",
    status="held",
    scheduled_on=date(2025, 2, 3),
)

INMATE = identity.InmateState(
    person_id="person-1",
    register_number="AI.12/2025",
    name="MUHAMMAD RIZKY",
    category="A.I",
    custody_status="detainee",
    admission_date=date(2025, 1, 6),
    custody_periods=[identity.CustodyPeriod(facility="rutan-barabai", since=date(2025, 1, 6))],
    nik_status="unverified",
)

ENROLMENT = programs.EnrolmentState(
    enrolment_id="enrolment-1",
    person_id="person-1",
    agreement_id="agreement-1",
    partner_code="BLK",
    programme_kind="vocational",
    status="enrolled",
    enrolled_on=date(2025, 2, 3),
)


def sample_payloads() -> list[EventPayload]:
    return [
        agreements.PartnerRegistered(partner=PARTNER),
        agreements.PartnerUpdated(partner=PARTNER),
        agreements.AgreementDrafted(agreement=AGREEMENT),
        agreements.AgreementSigned(
            agreement=AGREEMENT,
            signatories=[agreements.SignatoryState(party="partner", name="A", position="Head")],
        ),
        agreements.AgreementActivated(agreement=AGREEMENT),
        agreements.AgreementExpiring(agreement=AGREEMENT),
        agreements.AgreementExpired(agreement=AGREEMENT),
        agreements.AgreementTerminated(
            agreement=AGREEMENT, reason="Partner closed", terminated_on=date(2025, 5, 1)
        ),
        agreements.AgreementRenewed(agreement=AGREEMENT, renewal_id="agreement-2"),
        agreements.AgreementAmended(
            agreement=AGREEMENT,
            number=1,
            rationale="Longer term",
            effective_on=date(2025, 3, 1),
            changes={"end_date": "2026-12-31"},
        ),
        agreements.DocumentAttached(
            agreement=AGREEMENT,
            document=agreements.DocumentState(
                name="signed.pdf", media_type="application/pdf", sha256="0" * 64, size_bytes=10
            ),
        ),
        agreements.ActionPlanItemAdded(agreement=AGREEMENT, item=ITEM),
        agreements.RealisationUpdated(agreement=AGREEMENT, item=ITEM, session_id="session-1"),
        agreements.ActionPlanItemAssessed(agreement=AGREEMENT, item=ITEM),
        programs.SessionScheduled(session=SESSION),
        programs.SessionHeld(session=SESSION),
        programs.SessionCancelled(session=SESSION, reason="Flood"),
        programs.PersonEnrolled(enrolment=ENROLMENT),
        programs.EnrolmentCompleted(enrolment=ENROLMENT),
        programs.EnrolmentExited(enrolment=ENROLMENT),
        programs.OutcomeIssued(
            outcome_id="outcome-1",
            person_id="person-1",
            enrolment_id="enrolment-1",
            agreement_id="agreement-1",
            programme_kind="vocational",
            kind="certificate",
            issued_on=date(2025, 6, 30),
            passed=True,
        ),
        programs.SaleRecorded(
            sale_id="sale-1",
            agreement_id="agreement-1",
            partner_code="BLK",
            sold_on=date(2025, 5, 2),
            buyer_type="public",
            lines=[
                programs.SaleLine(
                    product="Tas anyaman",
                    quantity=2,
                    unit="buah",
                    unit_price_idr=75_000,
                    amount_idr=150_000,
                )
            ],
            total_idr=150_000,
        ),
        identity.InmateAdmitted(inmate=INMATE),
        identity.InmateStatusChanged(inmate=INMATE, previous_category="A.II"),
        identity.InmateTransferred(
            inmate=INMATE,
            from_facility="rutan-barabai",
            to_facility="lapas-banjarmasin",
            transferred_on=date(2025, 3, 1),
        ),
        identity.InmateReleased(inmate=INMATE, released_on=date(2025, 6, 1)),
        identity.NikStatusChanged(inmate=INMATE, previous_status="missing"),
    ]


def sample_event(payload: EventPayload, *, causation_id: str | None = None) -> CloudEvent:
    return build_event(
        payload,
        subject="subject-1",
        facility="LP-CIPINANG",
        sequence=3,
        correlation_id="correlation-1",
        causation_id=causation_id,
        event_id="event-1",
        time=datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC),
    )
