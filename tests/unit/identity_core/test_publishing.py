"""What the identity service publishes: state-carrying facts, never the NIK."""

from __future__ import annotations

import json
from datetime import date

from services.identity import domain, publishing
from services.identity.domain import Category, MatchKind
from shared.events import parse_event
from tests.unit.identity_core.support import (
    ADMITTED_ON,
    FACILITY,
    OTHER_FACILITY,
    fake_nik,
    personal,
)

NIK = "6307061203850001"


def _life() -> domain.Inmate:
    nik = fake_nik(NIK)
    inmate = domain.Inmate.admit(
        "person-1", FACILITY, "AI-1/2024", Category.A_I, personal(), ADMITTED_ON, nik
    )
    inmate.record_match(domain.MatchOutcome(MatchKind.MATCHED))
    inmate.change_category(Category.B_I)
    inmate.transfer(OTHER_FACILITY, date(2024, 4, 1))
    inmate.release(date(2024, 9, 1))
    return inmate


def test_every_domain_event_becomes_one_fact_with_subject_sequence_and_facility() -> None:
    inmate = _life()

    facts = publishing.inmate_facts(inmate, "corr-1", "cause-1")

    assert [f.type for f in facts] == [
        "sinergi.inmate.admitted",
        "sinergi.inmate.nik_status_changed",
        "sinergi.inmate.status_changed",
        "sinergi.inmate.transferred",
        "sinergi.inmate.released",
    ]
    assert {f.subject for f in facts} == {"person-1"}
    assert [f.sequence for f in facts] == [1, 2, 3, 4, 5]
    assert {f.facility for f in facts} == {OTHER_FACILITY}
    assert {(f.correlationid, f.causationid) for f in facts} == {("corr-1", "cause-1")}
    assert {f.source for f in facts} == {"sinergi/identity"}


def test_published_facts_pass_the_catalogue_and_carry_the_custody_periods() -> None:
    facts = publishing.inmate_facts(_life(), None, None)

    for fact in facts:
        _, payload = parse_event(fact.to_json())
        state = payload.model_dump(mode="json")["inmate"]
        assert state["custody_periods"] == [
            {"facility": FACILITY, "since": "2024-01-10", "until": "2024-04-01"},
            {"facility": OTHER_FACILITY, "since": "2024-04-01", "until": "2024-09-01"},
        ]
        assert state["nik_status"] == "matched"
        assert state["custody_status"] == "released"
    transferred = facts[3].data
    assert (transferred["from_facility"], transferred["to_facility"]) == (
        FACILITY,
        OTHER_FACILITY,
    )
    assert facts[2].data["previous_category"] == "A.I"
    assert facts[1].data["previous_status"] == "unverified"


def test_no_published_fact_holds_the_nik_or_any_protected_form_of_it() -> None:
    inmate = _life()
    nik = inmate.nik
    assert nik is not None and nik.ciphertext is not None and nik.lookup_hash is not None

    for fact in publishing.inmate_facts(inmate, None, None):
        text = fact.to_json()
        assert NIK not in text
        assert NIK[6:] not in text  # not even the birth date and serial
        assert nik.lookup_hash not in text
        assert nik.ciphertext.decode() not in text
        assert nik.masked not in text
        assert "nik" not in {k for k in json.loads(text)["data"]["inmate"] if k != "nik_status"}


def test_a_person_with_nothing_new_publishes_nothing() -> None:
    inmate = _life()
    inmate.events.clear()

    assert publishing.inmate_facts(inmate, None, None) == []
