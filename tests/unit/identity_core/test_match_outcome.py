"""Classifying a civil-registry answer into a matching outcome."""

from __future__ import annotations

from services.identity.domain import MatchKind, MatchOutcome, match_outcome


def test_a_nik_the_registry_does_not_know_is_not_found() -> None:
    outcome = match_outcome(False, {"name": True}, None, "job-1")

    assert outcome == MatchOutcome(MatchKind.NOT_FOUND, job_id="job-1")


def test_every_submitted_element_matching_is_a_match() -> None:
    outcome = match_outcome(True, {"name": True, "birth_date": True}, True, "job-1")

    assert outcome == MatchOutcome(MatchKind.MATCHED, (), True, "job-1")


def test_some_elements_not_matching_is_partial_and_names_them_in_order() -> None:
    outcome = match_outcome(
        True, {"name": True, "mother_name": False, "birth_place": False}, False, None
    )

    assert outcome.kind is MatchKind.PARTIAL
    assert outcome.mismatched_fields == ("birth_place", "mother_name")
    assert outcome.alive is False


def test_a_found_nik_with_no_elements_compared_is_a_match() -> None:
    assert match_outcome(True, {}, None, None).kind is MatchKind.MATCHED
