"""The Inmate aggregate: custody status, custody periods, NIK status, events and versions."""

from __future__ import annotations

from datetime import date

import pytest

from services.identity import domain
from services.identity.domain import Category, CustodyStatus, MatchKind, NikStatus
from tests.unit.identity_core.support import (
    ADMITTED_ON,
    FACILITY,
    OTHER_FACILITY,
    admitted,
    fake_nik,
    matched,
    personal,
)


@pytest.mark.parametrize(
    "category", [Category.A_I, Category.A_II, Category.A_III, Category.A_IV, Category.A_V]
)
def test_a_person_admitted_on_an_a_register_is_a_detainee(category: Category) -> None:
    assert admitted(category).custody_status is CustodyStatus.DETAINEE


@pytest.mark.parametrize("category", [Category.B_I, Category.B_IIA, Category.B_IIB, Category.B_III])
def test_a_person_admitted_on_a_b_register_is_a_convict(category: Category) -> None:
    assert admitted(category).custody_status is CustodyStatus.CONVICT


def test_admission_without_a_nik_leaves_the_nik_missing_and_to_be_recorded() -> None:
    inmate = admitted(with_nik=False)

    assert inmate.nik is None
    assert inmate.nik_status is NikStatus.MISSING
    assert inmate.needs_recording


def test_admission_with_a_nik_that_failed_the_structural_check_marks_it_invalid() -> None:
    inmate = admitted(nik=fake_nik("630706120385001", problems=("not_16_digits",)))

    assert inmate.nik_status is NikStatus.INVALID
    assert not inmate.needs_recording


def test_admission_with_a_well_formed_nik_leaves_it_unverified_until_matched() -> None:
    assert admitted().nik_status is NikStatus.UNVERIFIED


def test_admission_opens_one_custody_period_and_emits_one_admitted_event_at_version_1() -> None:
    inmate = domain.Inmate.admit(
        "person-1", FACILITY, "  AI-001/2024 ", Category.A_II, personal(), ADMITTED_ON, None
    )

    assert inmate.register_number == "AI-001/2024"
    assert inmate.custody_periods == [domain.CustodyPeriod(FACILITY, ADMITTED_ON)]
    assert inmate.events == [domain.Admitted(inmate_id="person-1", version=1)]
    assert inmate.version == 1


@pytest.mark.parametrize(
    ("register_number", "name", "born", "code"),
    [
        ("   ", "Ahmad", date(1985, 3, 12), "register_number_missing"),
        ("AI-1", "  ", date(1985, 3, 12), "name_missing"),
        ("AI-1", "Ahmad", date(2024, 2, 1), "born_after_admission"),
    ],
)
def test_admission_refuses_a_record_it_cannot_keep(
    register_number: str, name: str, born: date, code: str
) -> None:
    data = domain.PersonalData(name, domain.Sex.MALE, "Barabai", born, "Siti")

    with pytest.raises(domain.IdentityError) as refused:
        domain.Inmate.admit("p", FACILITY, register_number, Category.A_I, data, ADMITTED_ON, None)

    assert refused.value.code == code


def test_a_detainee_sentenced_becomes_a_convict_with_exactly_one_event() -> None:
    inmate = admitted(Category.A_III)

    assert inmate.change_category(Category.B_I)

    assert inmate.custody_status is CustodyStatus.CONVICT
    assert inmate.events == [
        domain.CategoryChanged(inmate_id="person-1", previous=Category.A_III, version=2)
    ]


def test_changing_to_the_same_category_changes_nothing() -> None:
    inmate = admitted(Category.A_I)

    assert not inmate.change_category(Category.A_I)

    assert inmate.events == []
    assert inmate.version == 1


def test_a_transfer_closes_the_current_period_and_opens_one_at_the_new_facility() -> None:
    inmate = admitted()
    on = date(2024, 5, 2)

    inmate.transfer(OTHER_FACILITY, on)

    assert inmate.custody_periods == [
        domain.CustodyPeriod(FACILITY, ADMITTED_ON, on),
        domain.CustodyPeriod(OTHER_FACILITY, on),
    ]
    assert inmate.facility == OTHER_FACILITY
    assert inmate.in_custody
    assert inmate.events == [
        domain.Transferred(
            inmate_id="person-1",
            from_facility=FACILITY,
            to_facility=OTHER_FACILITY,
            on=on,
            version=2,
        )
    ]


def test_a_transfer_to_the_same_facility_or_before_custody_began_is_refused() -> None:
    inmate = admitted()

    with pytest.raises(domain.IdentityError) as same:
        inmate.transfer(FACILITY, date(2024, 5, 2))
    with pytest.raises(domain.IdentityError) as early:
        inmate.transfer(OTHER_FACILITY, date(2023, 12, 31))

    assert (same.value.code, early.value.code) == (
        "transfer_to_same_facility",
        "transfer_before_admission",
    )
    assert inmate.events == []


def test_a_release_closes_the_custody_period_and_ends_custody() -> None:
    inmate = admitted()
    on = date(2024, 8, 17)

    inmate.release(on)

    assert inmate.custody_status is CustodyStatus.RELEASED
    assert inmate.custody_periods == [domain.CustodyPeriod(FACILITY, ADMITTED_ON, on)]
    assert inmate.events == [domain.Released(inmate_id="person-1", on=on, version=2)]
    assert not inmate.in_custody


def test_a_release_before_custody_began_is_refused() -> None:
    with pytest.raises(domain.IdentityError) as refused:
        admitted().release(date(2023, 1, 1))

    assert refused.value.code == "release_before_admission"


def test_after_release_the_custody_record_accepts_no_more_changes() -> None:
    inmate = admitted()
    inmate.release(date(2024, 8, 17))
    inmate.events.clear()

    for change in (
        lambda: inmate.change_category(Category.B_I),
        lambda: inmate.transfer(OTHER_FACILITY, date(2024, 9, 1)),
        lambda: inmate.release(date(2024, 9, 1)),
    ):
        with pytest.raises(domain.IdentityError) as refused:
            change()
        assert refused.value.code == "not_in_custody"

    assert inmate.events == []
    assert inmate.version == 2
    assert not inmate.needs_recording  # a released person is no longer listed for recording


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (MatchKind.MATCHED, NikStatus.MATCHED),
        (MatchKind.PARTIAL, NikStatus.PARTIAL),
        (MatchKind.NOT_FOUND, NikStatus.NOT_FOUND),
        (MatchKind.INVALID, NikStatus.INVALID),
    ],
)
def test_a_matching_outcome_sets_the_nik_status(kind: MatchKind, status: NikStatus) -> None:
    inmate = admitted()
    outcome = domain.MatchOutcome(kind)

    assert inmate.record_match(outcome)

    assert inmate.nik_status is status
    assert inmate.last_match == outcome
    assert inmate.events == [
        domain.NikStatusChanged(inmate_id="person-1", previous=NikStatus.UNVERIFIED, version=2)
    ]


def test_a_person_not_found_in_the_registry_is_listed_for_recording() -> None:
    inmate = admitted()
    inmate.record_match(domain.MatchOutcome(MatchKind.NOT_FOUND))

    assert inmate.needs_recording


def test_the_same_outcome_twice_is_no_change() -> None:
    inmate = matched()

    assert not inmate.record_match(domain.MatchOutcome(MatchKind.MATCHED))

    assert inmate.events == []


def test_a_new_outcome_with_the_same_status_is_kept_and_bumps_the_version_without_an_event() -> (
    None
):
    inmate = matched(MatchKind.PARTIAL)
    before = inmate.version
    outcome = domain.MatchOutcome(MatchKind.PARTIAL, ("birth_place",), job_id="job-2")

    assert inmate.record_match(outcome)

    assert inmate.last_match == outcome
    assert inmate.version == before + 1
    assert inmate.events == []


def test_matching_needs_a_nik() -> None:
    with pytest.raises(domain.IdentityError) as refused:
        admitted(with_nik=False).record_match(domain.MatchOutcome(MatchKind.MATCHED))

    assert refused.value.code == "no_nik"


@pytest.mark.parametrize("kind", [MatchKind.MATCHED, MatchKind.PARTIAL])
def test_an_officer_validates_a_matched_or_partial_result(kind: MatchKind) -> None:
    inmate = matched(kind)

    inmate.validate("officer-1")

    assert inmate.nik_status is NikStatus.VALIDATED
    assert inmate.review_note == "validated by officer-1"
    assert [type(e) for e in inmate.events] == [domain.NikStatusChanged]


@pytest.mark.parametrize("kind", [MatchKind.MATCHED, MatchKind.PARTIAL])
def test_an_officer_rejects_a_matched_or_partial_result_with_a_reason(kind: MatchKind) -> None:
    inmate = matched(kind)

    inmate.reject("officer-1", "  photo does not match  ")

    assert inmate.nik_status is NikStatus.REJECTED
    assert inmate.review_note == "rejected by officer-1: photo does not match"


def test_a_rejection_without_a_reason_is_refused() -> None:
    inmate = matched()

    with pytest.raises(domain.IdentityError) as refused:
        inmate.reject("officer-1", "   ")

    assert refused.value.code == "reason_missing"
    assert inmate.nik_status is NikStatus.MATCHED


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda: admitted(with_nik=False), id="missing"),
        pytest.param(admitted, id="unverified"),
        pytest.param(
            lambda: admitted(nik=fake_nik("12", problems=("not_16_digits",))), id="invalid"
        ),
        pytest.param(lambda: matched(MatchKind.NOT_FOUND), id="not_found"),
    ],
)
def test_validation_and_rejection_are_only_for_matched_or_partial_results(
    setup: object,
) -> None:
    assert callable(setup)
    inmate: domain.Inmate = setup()
    status = inmate.nik_status

    with pytest.raises(domain.IdentityError) as validating:
        inmate.validate("officer-1")
    with pytest.raises(domain.IdentityError) as rejecting:
        inmate.reject("officer-1", "wrong person")

    assert validating.value.code == rejecting.value.code == "not_reviewable"
    assert inmate.nik_status is status


def test_a_validated_nik_cannot_be_reviewed_again() -> None:
    inmate = matched()
    inmate.validate("officer-1")

    with pytest.raises(domain.IdentityError):
        inmate.reject("officer-2", "second thoughts")


@pytest.mark.parametrize(
    "before", [NikStatus.MATCHED, NikStatus.PARTIAL, NikStatus.NOT_FOUND, NikStatus.VALIDATED]
)
def test_a_registry_change_sends_a_checked_nik_back_to_unverified(before: NikStatus) -> None:
    kind = {
        NikStatus.MATCHED: MatchKind.MATCHED,
        NikStatus.VALIDATED: MatchKind.MATCHED,
        NikStatus.PARTIAL: MatchKind.PARTIAL,
        NikStatus.NOT_FOUND: MatchKind.NOT_FOUND,
    }[before]
    inmate = matched(kind)
    if before is NikStatus.VALIDATED:
        inmate.validate("officer-1")
        inmate.events.clear()

    assert inmate.registry_changed()

    assert inmate.nik_status is NikStatus.UNVERIFIED
    assert inmate.events == [
        domain.NikStatusChanged(inmate_id="person-1", previous=before, version=inmate.version)
    ]


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda: admitted(with_nik=False), id="missing"),
        pytest.param(admitted, id="unverified"),
        pytest.param(
            lambda: admitted(nik=fake_nik("12", problems=("not_16_digits",))), id="invalid"
        ),
    ],
)
def test_a_registry_change_leaves_an_unchecked_nik_alone(setup: object) -> None:
    assert callable(setup)
    inmate: domain.Inmate = setup()

    assert not inmate.registry_changed()

    assert inmate.events == []


def test_recording_a_corrected_nik_checks_it_again_and_forgets_the_last_result() -> None:
    inmate = matched(MatchKind.NOT_FOUND)

    assert inmate.record_nik(fake_nik("6307061203850002"))

    assert inmate.nik_status is NikStatus.UNVERIFIED
    assert inmate.last_match is None
    assert not inmate.record_nik(fake_nik("6307061203850002"))  # the same NIK again: no change


def test_replacing_an_unverified_nik_with_another_is_a_change_even_with_the_same_status() -> None:
    inmate = admitted()
    replacement = fake_nik("6307061203850009")

    assert inmate.record_nik(replacement)

    assert inmate.nik == replacement
    assert inmate.nik_status is NikStatus.UNVERIFIED
    assert inmate.version == 2  # the repository saves only what changed version
    assert inmate.events == []


def test_recording_a_malformed_nik_marks_it_invalid() -> None:
    inmate = admitted(with_nik=False)

    assert inmate.record_nik(fake_nik("63070612", problems=("not_16_digits",)))

    assert inmate.nik_status is NikStatus.INVALID


def test_versions_increase_by_one_with_every_event() -> None:
    inmate = domain.Inmate.admit(
        "person-1", FACILITY, "AI-1", Category.A_I, personal(), ADMITTED_ON, fake_nik()
    )
    inmate.record_match(domain.MatchOutcome(MatchKind.MATCHED))
    inmate.validate("officer-1")
    inmate.change_category(Category.B_IIA)
    inmate.transfer(OTHER_FACILITY, date(2024, 3, 1))
    inmate.registry_changed()
    inmate.release(date(2024, 9, 1))

    versions = [event.version for event in inmate.events]

    assert versions == list(range(1, 8))
    assert inmate.version == versions[-1]
