from collections.abc import Iterable
from datetime import date, timedelta

import pytest

from services.agreements.domain import (
    DEFAULT_SECTORS,
    ActionPlanError,
    ActionPlanItemAdded,
    ActionPlanItemAssessed,
    Agreement,
    AgreementActivated,
    AgreementAmended,
    AgreementDrafted,
    AgreementExpired,
    AgreementExpiring,
    AgreementRenewed,
    AgreementSigned,
    AgreementStatus,
    AgreementTerminated,
    Amendment,
    AmendmentError,
    Document,
    DocumentAttached,
    DomainError,
    InvalidPeriodError,
    InvalidTransitionError,
    MilestoneStatus,
    OverlapError,
    Partner,
    PartnerKind,
    PartnerRegistered,
    PartnerUpdated,
    Party,
    Period,
    RealisationUpdated,
    RenewalError,
    ScopeError,
    Signatory,
    SigningError,
    add_years,
)

FACILITY = "rutan-barabai"
START = date(2023, 3, 13)
DAY = timedelta(days=1)


# --- builders -------------------------------------------------------------------------------


def a_partner(
    kind: PartnerKind = PartnerKind.HEALTH, partner_id: str = "p-health", code: str = "DINKES"
) -> Partner:
    return Partner.register(partner_id, FACILITY, code, f"Dinas {kind}", kind)


def years_from(start: date = START, years: int = 3) -> Period:
    return Period(start, add_years(start, years) - DAY)


def a_draft(
    agreement_id: str = "a-1",
    partner: Partner | None = None,
    kinds: Iterable[str] = ("mobile_clinic",),
    period: Period | None = None,
    renews: Agreement | None = None,
) -> Agreement:
    return Agreement.draft(
        agreement_id,
        FACILITY,
        partner or a_partner(),
        f"W.{agreement_id}/PKS",
        f"DINKES/{agreement_id}",
        "Layanan kesehatan WBP",
        kinds,
        period or years_from(),
        renews=renews,
    )


def both_signatories() -> tuple[Signatory, Signatory]:
    return (
        Signatory(Party.FACILITY, "Kepala Rutan", "Kepala"),
        Signatory(Party.PARTNER, "Kepala Dinas", "Kepala Dinas"),
    )


def a_signed(
    agreement_id: str = "a-1",
    partner: Partner | None = None,
    kinds: Iterable[str] = ("mobile_clinic",),
    period: Period | None = None,
    today: date | None = None,
    others: Iterable[Agreement] = (),
    renews: Agreement | None = None,
) -> Agreement:
    agreement = a_draft(agreement_id, partner, kinds, period, renews)
    signed_on = agreement.period.start
    agreement.sign(signed_on, both_signatories(), today or signed_on, others, 90)
    return agreement


def an_item(
    agreement: Agreement,
    item_id: str = "i-1",
    target: int = 10,
    period: Period | None = None,
    kind: str = "mobile_clinic",
) -> None:
    agreement.add_action_plan_item(
        item_id,
        kind,
        "Pusling visits",
        target,
        "visit",
        period or Period(START, date(2023, 6, 30)),
        Party.PARTNER,
    )


def a_document(sha: str = "a" * 64) -> Document:
    return Document("pks.pdf", "application/pdf", sha, 1024)


def kinds_of(events: Iterable[object]) -> list[type]:
    return [type(e) for e in events]


# --- period ---------------------------------------------------------------------------------


def test_a_period_of_one_year_less_a_day_is_accepted() -> None:
    a_draft(period=Period(START, date(2024, 3, 12)))


def test_a_period_of_exactly_three_years_is_accepted() -> None:
    a_draft(period=Period(START, date(2026, 3, 13)))


def test_a_period_of_three_years_and_a_day_is_refused() -> None:
    with pytest.raises(InvalidPeriodError) as raised:
        a_draft(period=Period(START, date(2026, 3, 14)))
    assert raised.value.code == "period_out_of_range"
    assert "2023-03-13..2026-03-14" in str(raised.value)


def test_a_period_shorter_than_one_year_is_refused() -> None:
    with pytest.raises(InvalidPeriodError, match="is 365 days;"):
        a_draft(period=Period(START, date(2024, 3, 11)))


def test_a_period_longer_than_three_years_is_refused_naming_its_length() -> None:
    with pytest.raises(InvalidPeriodError) as raised:
        a_draft(period=Period(START, date(2027, 3, 12)))
    assert str(raised.value).startswith("the period 2023-03-13..2027-03-12 is 4 years;")


def test_a_year_from_29_february_ends_on_28_february() -> None:
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    a_draft(period=Period(date(2024, 2, 29), date(2025, 2, 27)))


def test_a_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidPeriodError) as raised:
        Period(START, START - DAY)
    assert raised.value.code == "period_reversed"


def test_periods_sharing_a_single_day_overlap() -> None:
    first = Period(START, date(2024, 3, 12))
    assert first.overlaps(Period(date(2024, 3, 12), date(2025, 1, 1)))
    assert not first.overlaps(Period(date(2024, 3, 13), date(2025, 1, 1)))
    assert first.contains(START) and first.contains(date(2024, 3, 12))
    assert not first.contains(date(2024, 3, 13))
    assert first.years == 1


# --- partner --------------------------------------------------------------------------------


def test_a_registered_partner_covers_the_default_sectors_of_its_kind() -> None:
    partner = a_partner(PartnerKind.CIVIL_REGISTRY, "p-dukcapil", "DUKCAPIL")
    assert partner.sectors == ("nik_matching", "id_recording")
    assert partner.version == 1
    assert partner.events == [
        PartnerRegistered("p-dukcapil", FACILITY, "DUKCAPIL", PartnerKind.CIVIL_REGISTRY, version=1)
    ]


def test_every_partner_kind_has_default_sectors() -> None:
    assert set(DEFAULT_SECTORS) == set(PartnerKind)
    assert DEFAULT_SECTORS[PartnerKind.OTHER] == ()


def test_a_partner_sector_must_be_a_slug() -> None:
    with pytest.raises(ScopeError) as raised:
        Partner.register("p", FACILITY, "X", "X", PartnerKind.OTHER, ["Bad Kind"])
    assert raised.value.code == "invalid_programme_kind"


def test_a_partner_code_is_required() -> None:
    with pytest.raises(DomainError) as raised:
        Partner.register("p", FACILITY, "  ", "X", PartnerKind.OTHER)
    assert raised.value.code == "partner_code_required"


def test_updating_a_partner_records_what_changed() -> None:
    partner = a_partner()
    assert partner.update(name="Dinas Kesehatan HST", sectors=["mobile_clinic"])
    assert partner.version == 2
    assert partner.events[-1] == PartnerUpdated(
        "p-health",
        {
            "name": "Dinas health -> Dinas Kesehatan HST",
            "sectors": "mobile_clinic, drug_counselling -> mobile_clinic",
        },
        version=2,
    )


def test_an_update_that_changes_nothing_records_nothing() -> None:
    partner = a_partner()
    assert not partner.update(name=partner.name)
    assert partner.version == 1 and len(partner.events) == 1


# --- drafting -------------------------------------------------------------------------------


def test_a_draft_records_the_drafted_event_at_version_one() -> None:
    agreement = a_draft()
    assert agreement.status is AgreementStatus.DRAFT
    assert agreement.version == 1
    assert agreement.events == [AgreementDrafted("a-1", "p-health", None, None, version=1)]


def test_a_programme_kind_outside_the_partner_sectors_is_refused() -> None:
    with pytest.raises(ScopeError) as raised:
        a_draft(kinds=["mobile_library"])
    assert raised.value.code == "programme_kind_outside_sectors"
    assert "mobile_library" in str(raised.value)
    assert "mobile_clinic, drug_counselling" in str(raised.value)


def test_an_agreement_covers_at_least_one_programme_kind() -> None:
    with pytest.raises(ScopeError):
        a_draft(kinds=[])


def test_the_title_and_numbers_are_required() -> None:
    with pytest.raises(DomainError) as raised:
        Agreement.draft("a", FACILITY, a_partner(), " ", "n", "t", ["mobile_clinic"], years_from())
    assert raised.value.code == "facility_number_required"


def test_a_partner_of_another_facility_is_refused() -> None:
    other = Partner.register("p-x", "lapas-x", "X", "X", PartnerKind.HEALTH)
    with pytest.raises(ScopeError):
        a_draft(partner=other)


# --- signing --------------------------------------------------------------------------------


def test_signing_needs_a_signatory_of_each_party() -> None:
    agreement = a_draft()
    with pytest.raises(SigningError, match="partner"):
        agreement.sign(START, [both_signatories()[0]], START, [])
    assert agreement.status is AgreementStatus.DRAFT


def test_a_signatory_signs_for_one_side_only() -> None:
    with pytest.raises(SigningError):
        Signatory(Party.BOTH, "Someone", "Chief")


def test_an_agreement_that_starts_before_it_was_signed_is_refused() -> None:
    with pytest.raises(SigningError, match="before it was signed"):
        a_draft().sign(START + DAY, both_signatories(), START + DAY, [])


def test_a_signing_date_after_today_is_refused() -> None:
    with pytest.raises(SigningError) as raised:
        a_draft().sign(START, both_signatories(), START - DAY, [])
    assert raised.value.code == "signed_in_future"


def test_only_a_draft_can_be_signed() -> None:
    agreement = a_signed()
    with pytest.raises(InvalidTransitionError):
        agreement.sign(START, both_signatories(), START, [])


def test_signing_before_the_start_leaves_the_agreement_signed() -> None:
    agreement = a_draft()
    agreement.sign(START - 10 * DAY, both_signatories(), START - 10 * DAY, [])
    assert agreement.status is AgreementStatus.SIGNED
    assert agreement.signed_on == START - 10 * DAY
    assert kinds_of(agreement.events) == [AgreementDrafted, AgreementSigned]


def test_signing_an_agreement_whose_start_has_passed_activates_it_at_once() -> None:
    agreement = a_signed(today=START + 30 * DAY)
    assert agreement.status is AgreementStatus.ACTIVE
    assert kinds_of(agreement.events) == [AgreementDrafted, AgreementSigned, AgreementActivated]


def test_an_overlapping_agreement_for_a_shared_kind_is_refused() -> None:
    existing = a_signed("a-1", kinds=["mobile_clinic", "drug_counselling"])
    later = a_draft("a-2", kinds=["drug_counselling"], period=years_from(date(2024, 1, 1), 1))
    with pytest.raises(OverlapError) as raised:
        later.sign(date(2024, 1, 1), both_signatories(), date(2024, 1, 1), [existing, later])
    message = str(raised.value)
    assert "W.a-1/PKS" in message
    assert "2023-03-13..2026-03-12" in message
    assert "drug_counselling" in message
    assert later.status is AgreementStatus.DRAFT


def test_an_overlapping_agreement_for_other_kinds_is_allowed() -> None:
    existing = a_signed("a-1", kinds=["mobile_clinic"])
    later = a_signed("a-2", kinds=["drug_counselling"], others=[existing])
    assert later.status is AgreementStatus.ACTIVE


def test_a_terminated_or_draft_agreement_does_not_block_an_overlapping_one() -> None:
    terminated = a_signed("a-1")
    terminated.terminate("partner merged", START + DAY)
    draft = a_draft("a-2")
    assert a_signed("a-3", others=[terminated, draft]).status is AgreementStatus.ACTIVE


def test_an_agreement_with_another_partner_does_not_overlap() -> None:
    other_partner = a_partner(partner_id="p-other", code="RSUD")
    existing = a_signed("a-1", partner=other_partner)
    assert a_signed("a-2", others=[existing]).status is AgreementStatus.ACTIVE


# --- lifecycle ------------------------------------------------------------------------------


def test_advance_walks_an_agreement_through_its_life_one_day_at_a_time() -> None:
    period = years_from(START, 1)  # ends 2024-03-12, notice from 2023-12-13
    agreement = a_draft(period=period)
    agreement.sign(date(2023, 3, 1), both_signatories(), date(2023, 3, 1), [])
    steps = {
        date(2023, 3, 12): [],
        date(2023, 3, 13): [AgreementActivated],
        date(2023, 12, 12): [],
        date(2023, 12, 13): [AgreementExpiring],
        date(2024, 3, 12): [],
        date(2024, 3, 13): [AgreementExpired],
    }
    for day, expected in steps.items():
        assert kinds_of(agreement.advance(day, 90)) == expected, day
    assert agreement.status is AgreementStatus.EXPIRED
    assert agreement.events[-1] == AgreementExpired(
        "a-1", AgreementStatus.EXPIRED, version=agreement.version
    )


def test_advancing_twice_on_the_same_day_emits_nothing_the_second_time() -> None:
    agreement = a_draft()
    agreement.sign(START - DAY, both_signatories(), START - DAY, [])
    assert agreement.advance(START, 90)
    version = agreement.version
    assert agreement.advance(START, 90) == []
    assert agreement.version == version


def test_advance_passes_several_states_at_once() -> None:
    agreement = a_draft(period=years_from(START, 1))
    agreement.sign(START, both_signatories(), START, [])
    emitted = agreement.advance(date(2025, 1, 1), 90)
    assert kinds_of(emitted) == [AgreementExpiring, AgreementExpired]
    assert agreement.status is AgreementStatus.EXPIRED


def test_an_agreement_renewed_before_it_expires_ends_as_renewed() -> None:
    agreement = a_signed(period=years_from(START, 1))
    agreement.mark_renewed_by("a-2")
    agreement.advance(date(2024, 3, 13), 90)
    assert agreement.status is AgreementStatus.RENEWED
    assert agreement.events[-1] == AgreementExpired(
        "a-1", AgreementStatus.RENEWED, version=agreement.version
    )


def test_a_draft_does_not_advance() -> None:
    agreement = a_draft()
    assert agreement.advance(date(2030, 1, 1), 90) == []
    assert agreement.status is AgreementStatus.DRAFT


def test_an_agreement_is_in_force_only_within_its_period_while_signed_or_running() -> None:
    agreement = a_draft()
    assert not agreement.is_in_force_on(START)
    agreement.sign(START, both_signatories(), START, [])
    assert agreement.is_in_force_on(START)
    assert not agreement.is_in_force_on(START - DAY)
    agreement.terminate("closed", START + DAY)
    assert not agreement.is_in_force_on(START + DAY)


# --- termination ----------------------------------------------------------------------------


def test_an_active_agreement_can_be_terminated_with_a_reason() -> None:
    agreement = a_signed()
    agreement.terminate("  agency dissolved ", date(2024, 1, 1))
    assert agreement.status is AgreementStatus.TERMINATED
    assert agreement.termination_reason == "agency dissolved"
    assert agreement.events[-1] == AgreementTerminated(
        "a-1", "agency dissolved", date(2024, 1, 1), version=agreement.version
    )


def test_termination_needs_a_reason() -> None:
    with pytest.raises(InvalidTransitionError):
        a_signed().terminate(" ", date(2024, 1, 1))


def test_a_draft_or_expired_agreement_cannot_be_terminated() -> None:
    with pytest.raises(InvalidTransitionError):
        a_draft().terminate("x", START)
    expired = a_signed(period=years_from(START, 1), today=date(2025, 1, 1))
    assert expired.status is AgreementStatus.EXPIRED
    with pytest.raises(InvalidTransitionError) as raised:
        expired.terminate("x", date(2025, 1, 1))
    assert raised.value.code == "cannot_terminate"


# --- renewal --------------------------------------------------------------------------------


def test_a_renewal_that_starts_the_day_after_the_prior_ends_is_continuous() -> None:
    prior = a_signed("a-0", period=years_from(date(2020, 3, 13), 3), today=START)
    assert prior.status is AgreementStatus.EXPIRED
    renewal = a_draft("a-1", renews=prior)
    assert renewal.renews == "a-0" and renewal.gap_days == 0
    assert renewal.events == [AgreementDrafted("a-1", "p-health", "a-0", 0, version=1)]


def test_a_renewal_after_a_pause_records_the_gap_in_days() -> None:
    prior = a_signed("a-0", period=years_from(date(2020, 3, 1), 3), today=START)
    renewal = a_draft("a-1", renews=prior)
    assert renewal.gap_days == 12


def test_a_renewal_overlapping_the_prior_agreement_is_refused() -> None:
    prior = a_signed("a-0", period=years_from(date(2020, 3, 14), 3))
    with pytest.raises(RenewalError) as raised:
        a_draft("a-1", renews=prior)
    assert raised.value.code == "renewal_overlaps_prior"


def test_a_renewal_with_another_partner_is_refused() -> None:
    prior = a_signed("a-0", period=years_from(date(2020, 3, 13), 3))
    other = a_partner(partner_id="p-other", code="RSUD")
    with pytest.raises(RenewalError) as raised:
        a_draft("a-1", partner=other, renews=prior)
    assert raised.value.code == "renewal_partner_mismatch"


def test_a_draft_or_terminated_agreement_cannot_be_renewed() -> None:
    draft = a_draft("a-0", period=years_from(date(2020, 3, 13), 3))
    with pytest.raises(RenewalError):
        a_draft("a-1", renews=draft)
    terminated = a_signed("a-0", period=years_from(date(2020, 3, 13), 3))
    terminated.terminate("stopped", date(2021, 1, 1))
    with pytest.raises(RenewalError):
        a_draft("a-1", renews=terminated)


def test_marking_an_expired_agreement_renewed_moves_it_to_renewed() -> None:
    prior = a_signed("a-0", period=years_from(date(2020, 3, 13), 3), today=START)
    assert prior.mark_renewed_by("a-1")
    assert prior.status is AgreementStatus.RENEWED
    assert prior.events[-1] == AgreementRenewed("a-0", "a-1", version=prior.version)


def test_an_agreement_is_renewed_by_one_agreement_only() -> None:
    prior = a_signed("a-0", period=years_from(date(2020, 3, 13), 3))
    prior.mark_renewed_by("a-1")
    version = prior.version
    assert not prior.mark_renewed_by("a-1")
    assert prior.version == version
    with pytest.raises(RenewalError) as raised:
        prior.mark_renewed_by("a-2")
    assert raised.value.code == "already_renewed"
    with pytest.raises(RenewalError):
        a_draft("a-2", renews=prior)


# --- amendments -----------------------------------------------------------------------------


def amend(
    agreement: Agreement,
    today: date = START,
    others: Iterable[Agreement] = (),
    title: str | None = None,
    programme_kinds: Iterable[str] | None = None,
    end_date: date | None = None,
) -> Amendment:
    return agreement.amend(
        "Addendum",
        today,
        partner=a_partner(),
        other_agreements=others,
        today=today,
        title=title,
        programme_kinds=programme_kinds,
        end_date=end_date,
    )


def test_amendments_are_numbered_in_order_and_describe_their_changes() -> None:
    agreement = a_signed()
    first = amend(agreement, title="Layanan kesehatan dan rehabilitasi")
    second = amend(agreement, programme_kinds=["mobile_clinic", "drug_counselling"])
    assert [a.number for a in agreement.amendments] == [1, 2]
    assert agreement.amendments == [first, second]
    assert agreement.programme_kinds == ("mobile_clinic", "drug_counselling")
    assert agreement.events[-1] == AgreementAmended(
        "a-1",
        2,
        {"programme_kinds": "mobile_clinic -> mobile_clinic, drug_counselling"},
        version=agreement.version,
    )


def test_an_amendment_needs_a_rationale_and_a_change() -> None:
    agreement = a_signed()
    with pytest.raises(AmendmentError):
        agreement.amend(
            " ", START, partner=a_partner(), other_agreements=[], today=START, title="x"
        )
    with pytest.raises(AmendmentError) as raised:
        amend(agreement, title=agreement.title)
    assert raised.value.code == "no_changes"


def test_an_amendment_cannot_stretch_the_period_beyond_three_years() -> None:
    with pytest.raises(InvalidPeriodError):
        amend(a_signed(), end_date=date(2026, 3, 14))


def test_an_amendment_cannot_add_a_kind_outside_the_partner_sectors() -> None:
    with pytest.raises(ScopeError):
        amend(a_signed(), programme_kinds=["mobile_clinic", "book_loan"])


def test_an_amendment_cannot_drop_a_kind_the_action_plan_uses() -> None:
    agreement = a_signed(kinds=["mobile_clinic", "drug_counselling"])
    an_item(agreement, kind="drug_counselling")
    with pytest.raises(AmendmentError) as raised:
        amend(agreement, programme_kinds=["mobile_clinic"])
    assert raised.value.code == "action_plan_item_uncovered"
    assert agreement.programme_kinds == ("mobile_clinic", "drug_counselling")


def test_an_amendment_must_keep_the_overlap_rule() -> None:
    existing = a_signed("a-1", kinds=["drug_counselling"])
    agreement = a_signed("a-2", kinds=["mobile_clinic"], others=[existing])
    with pytest.raises(OverlapError):
        amend(agreement, programme_kinds=["mobile_clinic", "drug_counselling"], others=[existing])


def test_extending_an_expiring_agreement_brings_it_back_to_active() -> None:
    agreement = a_signed(period=years_from(START, 1))
    today = date(2024, 1, 10)
    assert kinds_of(agreement.advance(today, 90)) == [AgreementExpiring]
    amend(agreement, today=today, end_date=date(2025, 3, 12))
    assert agreement.status is AgreementStatus.ACTIVE
    assert agreement.period == Period(START, date(2025, 3, 12))
    assert agreement.amendments[0].changes == {"end_date": "2024-03-12 -> 2025-03-12"}
    assert kinds_of(agreement.events[-2:]) == [AgreementAmended, AgreementActivated]


def test_a_draft_cannot_be_amended() -> None:
    with pytest.raises(InvalidTransitionError):
        amend(a_draft(), title="x")


# --- action plan ----------------------------------------------------------------------------


def test_an_action_plan_item_is_added_for_a_covered_kind() -> None:
    agreement = a_signed()
    an_item(agreement)
    item = agreement.item("i-1")
    assert item.milestone is MilestoneStatus.OPEN and item.realised_quantity == 0
    assert agreement.events[-1] == ActionPlanItemAdded(
        "a-1", "i-1", "mobile_clinic", version=agreement.version
    )


def test_an_item_for_a_kind_the_agreement_does_not_cover_is_refused() -> None:
    with pytest.raises(ScopeError):
        an_item(a_signed(), kind="drug_counselling")


def test_an_item_outside_the_agreement_period_is_refused() -> None:
    with pytest.raises(ActionPlanError) as raised:
        an_item(a_signed(), period=Period(START - DAY, date(2023, 6, 30)))
    assert raised.value.code == "item_period_outside_agreement"


def test_an_item_needs_a_positive_target() -> None:
    with pytest.raises(ActionPlanError):
        an_item(a_signed(), target=0)


def test_an_item_id_is_used_once() -> None:
    agreement = a_signed()
    an_item(agreement)
    with pytest.raises(ActionPlanError):
        an_item(agreement)


def test_no_item_can_be_added_to_a_terminated_agreement() -> None:
    agreement = a_signed()
    agreement.terminate("stopped", START)
    with pytest.raises(ActionPlanError):
        an_item(agreement)


def test_items_can_be_planned_while_the_agreement_is_a_draft() -> None:
    agreement = a_draft()
    an_item(agreement)
    assert len(agreement.action_plan) == 1


# --- realisation ledger ---------------------------------------------------------------------


def test_realisations_of_sessions_add_up() -> None:
    agreement = a_signed()
    an_item(agreement)
    assert agreement.record_realisation("i-1", "s-1", 3, date(2023, 4, 1), 1)
    assert agreement.record_realisation("i-1", "s-2", 2, date(2023, 5, 1), 1)
    assert agreement.item("i-1").realised_quantity == 5
    assert agreement.events[-1] == RealisationUpdated(
        "a-1", "i-1", "s-2", 5, 10, version=agreement.version
    )


def test_a_correction_with_a_higher_sequence_replaces_the_quantity() -> None:
    agreement = a_signed()
    an_item(agreement)
    agreement.record_realisation("i-1", "s-1", 3, date(2023, 4, 1), 1)
    assert agreement.record_realisation("i-1", "s-1", 4, date(2023, 4, 1), 2)
    assert agreement.item("i-1").realised_quantity == 4


def test_a_stale_or_repeated_sequence_is_ignored() -> None:
    agreement = a_signed()
    an_item(agreement)
    agreement.record_realisation("i-1", "s-1", 4, date(2023, 4, 1), 2)
    version = agreement.version
    assert not agreement.record_realisation("i-1", "s-1", 3, date(2023, 4, 1), 1)
    assert not agreement.record_realisation("i-1", "s-1", 9, date(2023, 4, 1), 2)
    assert agreement.item("i-1").realised_quantity == 4
    assert agreement.version == version


def test_a_cancelled_session_counts_zero() -> None:
    agreement = a_signed()
    an_item(agreement)
    agreement.record_realisation("i-1", "s-1", 4, date(2023, 4, 1), 1)
    assert agreement.record_realisation("i-1", "s-1", 0, date(2023, 4, 1), 2)
    assert agreement.item("i-1").realised_quantity == 0
    assert not agreement.record_realisation("i-1", "s-1", 4, date(2023, 4, 1), 1)


def test_a_session_held_outside_the_item_period_is_refused() -> None:
    agreement = a_signed()
    an_item(agreement)
    with pytest.raises(ActionPlanError) as raised:
        agreement.record_realisation("i-1", "s-1", 1, date(2023, 7, 1), 1)
    assert raised.value.code == "realisation_outside_item_period"


def test_a_realisation_for_an_unknown_item_or_negative_quantity_is_refused() -> None:
    agreement = a_signed()
    an_item(agreement)
    with pytest.raises(ActionPlanError):
        agreement.record_realisation("nope", "s-1", 1, date(2023, 4, 1), 1)
    with pytest.raises(ActionPlanError):
        agreement.record_realisation("i-1", "s-1", -1, date(2023, 4, 1), 1)


# --- milestone assessment -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("realised", "milestone"),
    [
        (12, MilestoneStatus.MET),
        (10, MilestoneStatus.MET),
        (4, MilestoneStatus.PARTIALLY_MET),
        (0, MilestoneStatus.NOT_MET),
    ],
)
def test_an_item_is_assessed_the_day_after_its_period_ends(
    realised: int, milestone: MilestoneStatus
) -> None:
    agreement = a_signed()
    an_item(agreement)
    if realised:
        agreement.record_realisation("i-1", "s-1", realised, date(2023, 6, 30), 1)
    assert agreement.advance(date(2023, 6, 30), 90) == []
    emitted = agreement.advance(date(2023, 7, 1), 90)
    assert emitted == [
        ActionPlanItemAssessed("a-1", "i-1", milestone, realised, 10, version=agreement.version)
    ]
    assert agreement.item("i-1").milestone is milestone
    assert agreement.advance(date(2023, 7, 2), 90) == []


def test_a_late_report_reassesses_an_assessed_item() -> None:
    agreement = a_signed()
    an_item(agreement)
    agreement.advance(date(2023, 7, 1), 90)
    agreement.record_realisation("i-1", "s-1", 10, date(2023, 6, 1), 1)
    assert agreement.item("i-1").milestone is MilestoneStatus.MET
    assert kinds_of(agreement.events[-2:]) == [RealisationUpdated, ActionPlanItemAssessed]


# --- documents ------------------------------------------------------------------------------


def test_a_document_is_attached_once_per_hash() -> None:
    agreement = a_signed()
    assert agreement.attach_document(a_document())
    version = agreement.version
    assert not agreement.attach_document(Document("copy.pdf", "application/pdf", "a" * 64, 9))
    assert agreement.version == version
    assert agreement.attach_document(a_document("b" * 64))
    assert [d.sha256 for d in agreement.documents] == ["a" * 64, "b" * 64]
    assert agreement.events[-1] == DocumentAttached(
        "a-1", "b" * 64, "pks.pdf", version=agreement.version
    )


def test_a_document_hash_must_be_a_sha256() -> None:
    with pytest.raises(DomainError):
        a_document("not-a-hash")


# --- events and versions --------------------------------------------------------------------


def test_every_recorded_event_raises_the_version_by_one() -> None:
    agreement = a_draft(period=years_from(START, 1))
    agreement.sign(START - DAY, both_signatories(), START - DAY, [])
    an_item(agreement)
    agreement.record_realisation("i-1", "s-1", 3, date(2023, 4, 1), 1)
    agreement.attach_document(a_document())
    for day in (START, date(2023, 7, 1), date(2023, 12, 20), date(2024, 3, 13)):
        agreement.advance(day, 90)
    assert kinds_of(agreement.events) == [
        AgreementDrafted,
        AgreementSigned,
        ActionPlanItemAdded,
        RealisationUpdated,
        DocumentAttached,
        AgreementActivated,
        ActionPlanItemAssessed,
        AgreementExpiring,
        AgreementExpired,
    ]
    assert [e.version for e in agreement.events] == list(range(1, len(agreement.events) + 1))
    assert agreement.version == len(agreement.events)
