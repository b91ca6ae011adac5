"""One example event per catalogue entry, from the Barabai case: the AsyncAPI documents show
them to subscribers, and tests check that they stay valid against the models and schemas.

Identifiers, times and sequences are fixed so that the generated documents never drift.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.events import agreements, identity, programs
from shared.events.catalogue import CATALOGUE, build_event
from shared.events.envelope import CloudEvent, EventPayload

FACILITY = "rutan-barabai"
EXAMPLE_TIME = datetime(2024, 1, 15, 2, 30, tzinfo=UTC)

_PARTNER = agreements.PartnerState(
    partner_id="0b6f3c2e-partner-dinkes-hst",
    code="dinkes-hst",
    name="Dinas Kesehatan Kabupaten Hulu Sungai Tengah",
    kind="health",
    sectors=["health"],
)
_AGREEMENT = agreements.AgreementState(
    agreement_id="5d0e7a41-agreement-kesehatan-2023",
    partner_id=_PARTNER.partner_id,
    partner_code=_PARTNER.code,
    facility_number="W15.PAS.PAS12-HM.05.02-01/2023",
    partner_number="440/001/PKS/Dinkes/2023",
    title="Peningkatan Pelayanan Kesehatan bagi Warga Binaan Pemasyarakatan",
    programme_kinds=["mobile_clinic", "drug_counselling"],
    start_date=date(2023, 3, 13),
    end_date=date(2026, 3, 12),
    status="active",
    signed_on=date(2023, 3, 13),
    renews="9a1c55d0-agreement-kesehatan-2020",
)
_ITEM = agreements.ActionPlanItemState(
    item_id="c3f1d9b2-item-pusling",
    programme_kind="mobile_clinic",
    description="Layanan Puskesmas Keliling (Pusling) di Rutan bagi WBP",
    target_quantity=24,
    unit="kunjungan",
    period_start=date(2023, 3, 13),
    period_end=date(2024, 3, 12),
    responsible="partner",
    realised_quantity=11,
    milestone="open",
    counts="sessions",
)
_SESSION = programs.SessionState(
    session_id="7e2b0c44-session-pusling-2024-01-10",
    agreement_id=_AGREEMENT.agreement_id,
    action_plan_item_id=_ITEM.item_id,
    partner_code=_PARTNER.code,
    programme_kind="mobile_clinic",
    status="held",
    scheduled_on=date(2024, 1, 10),
    held_on=date(2024, 1, 10),
    delivered_quantity=1,
    unit="kunjungan",
    participant_count=37,
)
_ENROLMENT = programs.EnrolmentState(
    enrolment_id="e8d4a6f1-enrolment-menjahit",
    person_id="2f9b8e13-person-0001",
    agreement_id="b7c2e590-agreement-disnaker-2023",
    partner_code="disnakertrans-hst",
    programme_kind="tailoring",
    status="enrolled",
    enrolled_on=date(2024, 1, 8),
)
_INMATE = identity.InmateState(
    person_id="2f9b8e13-person-0001",
    register_number="AI.12/2024",
    name="MUHAMMAD RIZKY",
    category="A.I",
    custody_status="detainee",
    admission_date=date(2024, 1, 6),
    custody_periods=[identity.CustodyPeriod(facility=FACILITY, since=date(2024, 1, 6))],
    nik_status="unverified",
)
_TERMINATED = _AGREEMENT.model_copy(update={"status": "terminated"})
_EXPIRING = _AGREEMENT.model_copy(update={"status": "expiring"})
_EXPIRED = _AGREEMENT.model_copy(update={"status": "expired"})
_RENEWED = _AGREEMENT.model_copy(update={"status": "renewed", "renewed_by": "agreement-2026"})
_AMENDED = _AGREEMENT.model_copy(update={"amendment_count": 1})
_DRAFT = _AGREEMENT.model_copy(update={"status": "draft", "signed_on": None})
_SIGNED = _AGREEMENT.model_copy(update={"status": "signed"})
_COMPLETED = _ENROLMENT.model_copy(update={"status": "completed", "ended_on": date(2024, 3, 29)})
_EXITED = _ENROLMENT.model_copy(
    update={"status": "exited", "ended_on": date(2024, 2, 2), "exit_reason": "released"}
)
_SCHEDULED = _SESSION.model_copy(
    update={"status": "scheduled", "held_on": None, "delivered_quantity": 0, "participant_count": 0}
)
_CANCELLED = _SCHEDULED.model_copy(update={"status": "cancelled"})
_RELEASED = _INMATE.model_copy(
    update={
        "custody_status": "released",
        "custody_periods": [
            identity.CustodyPeriod(
                facility=FACILITY, since=date(2024, 1, 6), until=date(2024, 6, 1)
            )
        ],
    }
)
_TRANSFERRED = _INMATE.model_copy(
    update={
        "custody_status": "transferred_out",
        "custody_periods": [
            identity.CustodyPeriod(
                facility=FACILITY, since=date(2024, 1, 6), until=date(2024, 3, 1)
            ),
            identity.CustodyPeriod(facility="lapas-banjarmasin", since=date(2024, 3, 1)),
        ],
    }
)

# (payload, subject, sequence): the subject is the id of the aggregate the event is about.
_EXAMPLES: tuple[tuple[EventPayload, str, int], ...] = (
    (agreements.PartnerRegistered(partner=_PARTNER), _PARTNER.partner_id, 1),
    (
        agreements.PartnerUpdated(
            partner=_PARTNER.model_copy(update={"sectors": ["health", "drug_prevention"]})
        ),
        _PARTNER.partner_id,
        2,
    ),
    (agreements.AgreementDrafted(agreement=_DRAFT), _AGREEMENT.agreement_id, 1),
    (
        agreements.AgreementSigned(
            agreement=_SIGNED,
            signatories=[
                agreements.SignatoryState(
                    party="facility",
                    name="Gusti Iskandarsyah",
                    position="Kepala Rutan Kelas IIB Barabai",
                ),
                agreements.SignatoryState(
                    party="partner",
                    name="Kepala Dinas",
                    position="Kepala Dinas Kesehatan Kabupaten Hulu Sungai Tengah",
                ),
            ],
        ),
        _AGREEMENT.agreement_id,
        4,
    ),
    (agreements.AgreementActivated(agreement=_AGREEMENT), _AGREEMENT.agreement_id, 5),
    (agreements.AgreementExpiring(agreement=_EXPIRING), _AGREEMENT.agreement_id, 9),
    (agreements.AgreementExpired(agreement=_EXPIRED), _AGREEMENT.agreement_id, 10),
    (
        agreements.AgreementTerminated(
            agreement=_TERMINATED,
            reason="Kewenangan layanan dialihkan ke Puskesmas Barabai",
            terminated_on=date(2024, 6, 30),
        ),
        _AGREEMENT.agreement_id,
        10,
    ),
    (
        agreements.AgreementRenewed(agreement=_RENEWED, renewal_id="agreement-2026"),
        _AGREEMENT.agreement_id,
        11,
    ),
    (
        agreements.AgreementAmended(
            agreement=_AMENDED,
            number=1,
            rationale="Penambahan layanan konseling adiksi",
            effective_on=date(2023, 9, 1),
            changes={"programme_kinds": "mobile_clinic, drug_counselling"},
        ),
        _AGREEMENT.agreement_id,
        6,
    ),
    (
        agreements.DocumentAttached(
            agreement=_SIGNED,
            document=agreements.DocumentState(
                name="pks-kesehatan-2023.pdf",
                media_type="application/pdf",
                sha256="9f2c1b7e4a5d6c8b0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f",
                size_bytes=482_113,
            ),
        ),
        _AGREEMENT.agreement_id,
        3,
    ),
    (
        agreements.ActionPlanItemAdded(
            agreement=_DRAFT, item=_ITEM.model_copy(update={"realised_quantity": 0})
        ),
        _AGREEMENT.agreement_id,
        2,
    ),
    (
        agreements.RealisationUpdated(
            agreement=_AGREEMENT, item=_ITEM, session_id=_SESSION.session_id
        ),
        _AGREEMENT.agreement_id,
        8,
    ),
    (
        agreements.ActionPlanItemAssessed(
            agreement=_AGREEMENT,
            item=_ITEM.model_copy(update={"realised_quantity": 24, "milestone": "met"}),
        ),
        _AGREEMENT.agreement_id,
        12,
    ),
    (programs.SessionScheduled(session=_SCHEDULED), _SESSION.session_id, 1),
    (programs.SessionHeld(session=_SESSION), _SESSION.session_id, 2),
    (
        programs.SessionCancelled(session=_CANCELLED, reason="Banjir di jalan menuju Rutan"),
        _SESSION.session_id,
        2,
    ),
    (programs.PersonEnrolled(enrolment=_ENROLMENT), _ENROLMENT.enrolment_id, 1),
    (programs.EnrolmentCompleted(enrolment=_COMPLETED), _ENROLMENT.enrolment_id, 2),
    (programs.EnrolmentExited(enrolment=_EXITED), _ENROLMENT.enrolment_id, 2),
    (
        programs.OutcomeIssued(
            outcome_id="a1b2c3d4-outcome-menjahit",
            person_id=_ENROLMENT.person_id,
            enrolment_id=_ENROLMENT.enrolment_id,
            agreement_id=_ENROLMENT.agreement_id,
            programme_kind="tailoring",
            kind="certificate",
            issued_on=date(2024, 3, 29),
            passed=True,
            level="dasar",
        ),
        "a1b2c3d4-outcome-menjahit",
        1,
    ),
    (
        programs.SaleRecorded(
            sale_id="f00d5a1e-sale-0001",
            agreement_id=_ENROLMENT.agreement_id,
            partner_code="disnakertrans-hst",
            sold_on=date(2024, 1, 12),
            buyer_type="public",
            lines=[
                programs.SaleLine(
                    product="Tas anyaman purun",
                    quantity=2,
                    unit="buah",
                    unit_price_idr=75_000,
                    amount_idr=150_000,
                )
            ],
            total_idr=150_000,
        ),
        "f00d5a1e-sale-0001",
        1,
    ),
    (identity.InmateAdmitted(inmate=_INMATE), _INMATE.person_id, 1),
    (
        identity.InmateStatusChanged(
            inmate=_INMATE.model_copy(update={"category": "A.II"}), previous_category="A.I"
        ),
        _INMATE.person_id,
        2,
    ),
    (
        identity.InmateTransferred(
            inmate=_TRANSFERRED,
            from_facility=FACILITY,
            to_facility="lapas-banjarmasin",
            transferred_on=date(2024, 3, 1),
        ),
        _INMATE.person_id,
        3,
    ),
    (identity.InmateReleased(inmate=_RELEASED, released_on=date(2024, 6, 1)), _INMATE.person_id, 3),
    (
        identity.NikStatusChanged(
            inmate=_INMATE.model_copy(update={"nik_status": "validated"}),
            previous_status="matched",
        ),
        _INMATE.person_id,
        4,
    ),
)


def example_event(event_type: str, version: int) -> CloudEvent:
    """The example of one catalogue entry, in its envelope; KeyError if it has none."""
    for index, (payload, subject, sequence) in enumerate(_EXAMPLES, start=1):
        if (payload.event_type, payload.version) == (event_type, version):
            return build_event(
                payload,
                subject=subject,
                facility=FACILITY,
                sequence=sequence,
                correlation_id=f"00000000-0000-4000-8000-{index:012d}",
                event_id=f"00000000-0000-4000-a000-{index:012d}",
                time=EXAMPLE_TIME,
            )
    raise KeyError(f"no example of {event_type} v{version}")


def example_events() -> list[CloudEvent]:
    """One example per catalogue entry, in catalogue order."""
    return [example_event(event_type, version) for event_type, version in CATALOGUE]
