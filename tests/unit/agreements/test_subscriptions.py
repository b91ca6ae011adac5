from services.agreements.subscribers import GROUP, PROGRAMS_STREAM, SKIPPED_TYPES, subscriptions
from shared.events.programs import PAYLOADS, SessionCancelled, SessionHeld


def test_agreements_applies_only_held_and_cancelled_sessions_from_programs() -> None:
    (subscription,) = subscriptions(lambda: None)  # type: ignore[arg-type,return-value]

    assert (subscription.stream, subscription.group) == (PROGRAMS_STREAM, GROUP)
    assert subscription.skip == SKIPPED_TYPES
    applied = {p.event_type for p in PAYLOADS} - SKIPPED_TYPES
    assert applied == {SessionHeld.event_type, SessionCancelled.event_type}


def test_every_other_programme_fact_is_passed_over() -> None:
    assert {
        "sinergi.session.scheduled",
        "sinergi.enrolment.enrolled",
        "sinergi.enrolment.completed",
        "sinergi.enrolment.exited",
        "sinergi.outcome.issued",
        "sinergi.sale.recorded",
    } == SKIPPED_TYPES
