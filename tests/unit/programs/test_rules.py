"""The programs service's rules, without I/O: agreements in force, custody, quantities, NIKs."""

from __future__ import annotations

from datetime import date

import pytest

from services.programs.domain import (
    AgreementRuleError,
    AgreementTerms,
    BuyerType,
    Custody,
    CustodyError,
    DuplicateError,
    Enrolment,
    EnrolmentStatus,
    InvalidTransitionError,
    ItemTerms,
    NikNotValidatedError,
    Outcome,
    OutcomeKind,
    Person,
    ProgrammeKind,
    ProgrammeSession,
    QuantityError,
    QuantityRule,
    Sale,
    SaleLine,
    SessionCancelled,
    SessionHeld,
    SessionScheduled,
    SessionStatus,
)

FACILITY = "rutan-barabai"
TODAY = date(2024, 6, 1)


def kind(
    code: str = "mobile_clinic",
    rule: QuantityRule = QuantityRule.SESSIONS,
    enrolment: bool = False,
    outcome: OutcomeKind | None = None,
    needs_nik: bool = False,
) -> ProgrammeKind:
    return ProgrammeKind(code, code, code, "units", rule, enrolment, outcome, needs_nik)


CLINIC = kind()
COUNSELLING = kind("drug_counselling", QuantityRule.PARTICIPANTS)
BOOKS = kind("book_loan", QuantityRule.REPORTED)
TRAINING = kind("job_training", QuantityRule.PARTICIPANTS, True, OutcomeKind.CERTIFICATE)
EXAM = kind("equivalency_exam", QuantityRule.PARTICIPANTS, True, OutcomeKind.EXAM_RESULT, True)


def agreement(
    status: str = "active",
    kinds: tuple[str, ...] = ("mobile_clinic", "drug_counselling", "book_loan", "job_training"),
    start: date = date(2024, 1, 1),
    end: date = date(2024, 12, 31),
    terminated_on: date | None = None,
) -> AgreementTerms:
    return AgreementTerms(
        "agr-1", FACILITY, "dinkes", "W.18-PK-1", kinds, start, end, status, terminated_on
    )


def person(
    *periods: Custody, nik_status: str = "validated", register_number: str = "AI.12/2024"
) -> Person:
    stays = periods or (Custody(FACILITY, date(2023, 1, 1)),)
    return Person("person-1", register_number, stays, nik_status)


def refusal_code(error: pytest.ExceptionInfo[Exception]) -> str:
    return str(getattr(error.value, "code", ""))


# --- agreement in force on the date ---------------------------------------------------------


@pytest.mark.parametrize("status", ["signed", "active", "expiring", "expired", "renewed"])
def test_an_agreement_counts_on_a_date_inside_its_period_whatever_it_became_later(
    status: str,
) -> None:
    agreement(status).check_in_force(date(2024, 3, 5), "mobile_clinic")


def test_a_draft_agreement_is_never_in_force() -> None:
    with pytest.raises(AgreementRuleError) as error:
        agreement("draft").check_in_force(date(2024, 3, 5), "mobile_clinic")
    assert refusal_code(error) == "no_agreement_in_force"


def test_a_date_before_the_agreement_starts_has_no_agreement_in_force() -> None:
    with pytest.raises(AgreementRuleError) as error:
        agreement().check_in_force(date(2023, 12, 31), "mobile_clinic")
    assert refusal_code(error) == "no_agreement_in_force"


def test_a_date_after_the_agreement_ended_is_refused_as_expired_on_that_date() -> None:
    with pytest.raises(AgreementRuleError) as error:
        agreement("expired").check_in_force(date(2025, 1, 1), "mobile_clinic")
    assert refusal_code(error) == "agreement_expired_on_date"
    assert "ended 2024-12-31" in str(error.value)


def test_a_terminated_agreement_counts_only_before_its_termination_date() -> None:
    terminated = agreement("terminated", terminated_on=date(2024, 4, 1))

    terminated.check_in_force(date(2024, 3, 31), "mobile_clinic")
    for on in (date(2024, 4, 1), date(2024, 5, 1)):
        with pytest.raises(AgreementRuleError) as error:
            terminated.check_in_force(on, "mobile_clinic")
        assert refusal_code(error) == "no_agreement_in_force"
        assert "terminated on 2024-04-01" in str(error.value)


def test_an_agreement_that_does_not_cover_the_kind_is_refused() -> None:
    with pytest.raises(AgreementRuleError) as error:
        agreement().check_in_force(date(2024, 3, 5), "fire_drill")
    assert refusal_code(error) == "kind_not_covered"


def item(agreement_id: str = "agr-1", kind: str = "mobile_clinic") -> ItemTerms:
    return ItemTerms("item-1", agreement_id, kind, date(2024, 1, 1), date(2024, 6, 30))


def test_an_item_of_another_agreement_or_kind_or_outside_its_period_is_a_mismatch() -> None:
    item().check_matches("agr-1", "mobile_clinic", date(2024, 6, 30))
    for other, on in (
        (item("agr-2"), date(2024, 3, 5)),
        (item(kind="drug_counselling"), date(2024, 3, 5)),
        (item(), date(2024, 7, 1)),
    ):
        with pytest.raises(AgreementRuleError) as error:
            other.check_matches("agr-1", "mobile_clinic", on)
        assert refusal_code(error) == "item_mismatch"


# --- custody on the date --------------------------------------------------------------------


def test_a_person_is_in_custody_from_admission_at_that_facility_only() -> None:
    someone = person(Custody(FACILITY, date(2024, 2, 1)))

    someone.check_in_custody(FACILITY, date(2024, 2, 1))
    for facility, on in ((FACILITY, date(2024, 1, 31)), ("lapas-banjarmasin", date(2024, 3, 1))):
        with pytest.raises(CustodyError) as error:
            someone.check_in_custody(facility, on)
        assert refusal_code(error) == "not_in_custody"


def test_a_transferred_person_is_at_the_new_facility_from_the_transfer_day() -> None:
    moved = person(
        Custody(FACILITY, date(2024, 1, 1), until=date(2024, 3, 10)),
        Custody("lapas-banjarmasin", date(2024, 3, 10)),
    )

    moved.check_in_custody(FACILITY, date(2024, 3, 9))
    moved.check_in_custody("lapas-banjarmasin", date(2024, 3, 10))
    with pytest.raises(CustodyError):
        moved.check_in_custody(FACILITY, date(2024, 3, 10))


def test_a_released_person_is_out_of_custody_from_the_release_day_named_by_register() -> None:
    released = person(Custody(FACILITY, date(2024, 1, 1), until=date(2024, 4, 1)))

    released.check_in_custody(FACILITY, date(2024, 3, 31))
    with pytest.raises(CustodyError) as error:
        released.check_in_custody(FACILITY, date(2024, 4, 1))
    assert "AI.12/2024" in str(error.value)


# --- quantity rules -------------------------------------------------------------------------


def test_each_held_session_counts_one_under_the_sessions_rule() -> None:
    assert CLINIC.delivered_quantity(attendance=25, reported=None) == 1


def test_the_attendance_counts_under_the_participants_rule() -> None:
    assert COUNSELLING.delivered_quantity(attendance=12, reported=None) == 12


def test_a_reported_kind_needs_the_quantity_and_the_others_refuse_it() -> None:
    assert BOOKS.delivered_quantity(attendance=3, reported=40) == 40
    with pytest.raises(QuantityError) as missing:
        BOOKS.delivered_quantity(attendance=3, reported=None)
    assert refusal_code(missing) == "delivered_quantity_required"
    with pytest.raises(QuantityError):
        CLINIC.delivered_quantity(attendance=3, reported=5)


# --- sessions -------------------------------------------------------------------------------


def scheduled(
    kind_: ProgrammeKind = COUNSELLING, item: ItemTerms | None = None
) -> ProgrammeSession:
    return ProgrammeSession.schedule("s-1", agreement(), kind_, date(2024, 3, 5), item)


def test_holding_a_session_counts_distinct_attendance_and_records_each_step() -> None:
    session = scheduled()
    people = [person(), person()]

    session.hold(
        date(2024, 3, 5),
        people,
        None,
        agreement=agreement(),
        kind=COUNSELLING,
        item=None,
        today=TODAY,
    )
    session.cancel("recorded against the wrong agreement")

    assert [type(e) for e in session.events] == [SessionScheduled, SessionHeld, SessionCancelled]
    assert [e.version for e in session.events] == [1, 2, 3]
    held = session.events[1]
    assert isinstance(held, SessionHeld)
    assert (held.snapshot.delivered_quantity, held.snapshot.participant_count) == (1, 1)
    assert session.status is SessionStatus.CANCELLED
    assert session.delivered_quantity == 0


def test_a_session_is_not_held_with_someone_not_in_custody_there() -> None:
    session = scheduled()
    elsewhere = person(Custody("lapas-banjarmasin", date(2023, 1, 1)))

    with pytest.raises(CustodyError):
        session.hold(
            date(2024, 3, 5),
            [elsewhere],
            None,
            agreement=agreement(),
            kind=COUNSELLING,
            item=None,
            today=TODAY,
        )
    assert session.status is SessionStatus.SCHEDULED


def test_a_cancelled_session_cannot_be_held_or_cancelled_again() -> None:
    session = scheduled()
    session.cancel("no clinic van")

    with pytest.raises(InvalidTransitionError):
        session.hold(
            date(2024, 3, 5),
            [],
            None,
            agreement=agreement(),
            kind=COUNSELLING,
            item=None,
            today=TODAY,
        )
    with pytest.raises(InvalidTransitionError):
        session.cancel("again")


def test_a_session_is_overdue_once_its_date_passed_unrecorded() -> None:
    session = scheduled()
    assert not session.is_overdue(date(2024, 3, 5))
    assert session.is_overdue(date(2024, 3, 6))


# --- enrolments and outcomes ----------------------------------------------------------------


def enrolled(kind_: ProgrammeKind = TRAINING, someone: Person | None = None) -> Enrolment:
    return Enrolment.enrol("e-1", someone or person(), agreement(), kind_, date(2024, 2, 1))


def test_a_person_enrols_once_per_course_of_an_agreement() -> None:
    first = enrolled()
    with pytest.raises(DuplicateError):
        Enrolment.enrol("e-2", person(), agreement(), TRAINING, date(2024, 2, 2), [first])


def test_only_courses_and_classes_take_enrolments() -> None:
    with pytest.raises(AgreementRuleError) as error:
        enrolled(CLINIC)
    assert refusal_code(error) == "kind_without_enrolment"


def test_registering_for_an_exam_needs_a_validated_nik() -> None:
    exam_agreement = agreement(kinds=("equivalency_exam",))
    with pytest.raises(NikNotValidatedError):
        Enrolment.enrol("e-1", person(nik_status="matched"), exam_agreement, EXAM, date(2024, 2, 1))


def test_a_certificate_needs_a_completed_enrolment_and_a_validated_nik() -> None:
    enrolment = enrolled()
    with pytest.raises(InvalidTransitionError):
        Outcome.issue("o-1", enrolment, TRAINING, person(), date(2024, 5, 1), passed=True)
    enrolment.complete(date(2024, 5, 1))

    with pytest.raises(NikNotValidatedError) as error:
        Outcome.issue(
            "o-1", enrolment, TRAINING, person(nik_status="partial"), date(2024, 5, 1), passed=True
        )
    assert refusal_code(error) == "nik_not_validated"
    assert str(error.value) == (
        "the NIK of AI.12/2024 is 'partial': it must be matched and validated (pengesahan) "
        "in the identity service before a certificate is issued"
    )

    outcome = Outcome.issue("o-1", enrolment, TRAINING, person(), date(2024, 5, 1), passed=True)
    assert outcome.kind is OutcomeKind.CERTIFICATE


def test_an_enrolment_exits_once_and_never_before_it_began() -> None:
    enrolment = enrolled()

    enrolment.exit(date(2024, 1, 15), "released")

    assert enrolment.status is EnrolmentStatus.EXITED
    assert (enrolment.ended_on, enrolment.exit_reason) == (date(2024, 2, 1), "released")
    with pytest.raises(InvalidTransitionError):
        enrolment.exit(date(2024, 3, 1), "transferred")
    with pytest.raises(InvalidTransitionError):
        enrolment.complete(date(2024, 3, 1))


# --- sales ----------------------------------------------------------------------------------


def test_a_sale_needs_an_agreement_covering_product_sales_and_totals_its_lines() -> None:
    trade = agreement(kinds=("product_sales",))
    lines = [
        SaleLine("anyaman purun", 3, "pieces", 75_000),
        SaleLine("sapu lidi", 10, "pieces", 15_000),
    ]

    sale = Sale.record("sale-1", trade, date(2024, 3, 5), BuyerType.PUBLIC, lines)

    assert sale.total_idr == 375_000
    with pytest.raises(AgreementRuleError) as error:
        Sale.record("sale-2", agreement(), date(2024, 3, 5), BuyerType.PUBLIC, lines)
    assert refusal_code(error) == "kind_not_covered"
