"""Use cases: load aggregates and known facts, ask the aggregates to change, commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date

from services.programs import commands, domain
from services.programs.unit_of_work import UnitOfWork

Clock = Callable[[], date]


class NotFoundError(Exception):
    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"{what} {key} not found")
        self.what = what
        self.key = key


def _new_id() -> str:
    return str(uuid.uuid4())


def _kind(uow: UnitOfWork, code: str) -> domain.ProgrammeKind:
    kind = uow.facts.kind(code)
    if kind is None:
        raise domain.DomainError("unknown_programme_kind", f"no programme kind {code!r}")
    return kind


def _agreement(uow: UnitOfWork, agreement_id: str) -> domain.AgreementTerms:
    agreement = uow.facts.agreement(agreement_id)
    if agreement is None:
        raise domain.AgreementRuleError(
            "no_agreement_in_force", f"no agreement {agreement_id} is known to be in force"
        )
    return agreement


def _person(uow: UnitOfWork, person_id: str) -> domain.Person:
    person = uow.facts.person(person_id)
    if person is None:
        raise domain.unknown_person(person_id)
    return person


def _people(uow: UnitOfWork, person_ids: Sequence[str]) -> list[domain.Person]:
    """Each person of `person_ids`, in order, from one lookup; the first unknown one refuses."""
    known = uow.facts.people(person_ids)
    for person_id in person_ids:
        if person_id not in known:
            raise domain.unknown_person(person_id)
    return [known[person_id] for person_id in person_ids]


def _session(uow: UnitOfWork, session_id: str) -> domain.ProgrammeSession:
    session = uow.sessions.get(session_id)
    if session is None:
        raise NotFoundError("session", session_id)
    return session


def _enrolment(uow: UnitOfWork, enrolment_id: str) -> domain.Enrolment:
    enrolment = uow.enrolments.get(enrolment_id)
    if enrolment is None:
        raise NotFoundError("enrolment", enrolment_id)
    return enrolment


def _item(uow: UnitOfWork, item_id: str | None) -> domain.ItemTerms | None:
    if item_id is None:
        return None
    item = uow.facts.item(item_id)
    if item is None:
        raise domain.AgreementRuleError(
            "item_mismatch", f"no action plan item {item_id} is known here"
        )
    return item


def schedule_session(
    cmd: commands.ScheduleSession,
    uow: UnitOfWork,
    today: Clock,
    authorize: Callable[[domain.AgreementTerms], None] = lambda _: None,
) -> str:
    """`authorize` sees the agreement before anything else is checked (it may refuse)."""
    with uow:
        agreement = _agreement(uow, cmd.agreement_id)
        authorize(agreement)
        session = domain.ProgrammeSession.schedule(
            cmd.new_id or _new_id(),
            agreement,
            _kind(uow, cmd.programme_kind),
            cmd.scheduled_on,
            _item(uow, cmd.action_plan_item_id),
        )
        uow.sessions.add(session)
        if cmd.held is not None:
            _hold(uow, session, cmd.held, today())
        uow.commit()
        return session.id


def _hold(
    uow: UnitOfWork, session: domain.ProgrammeSession, report: commands.HeldReport, today: date
) -> None:
    session.hold(
        report.held_on,
        _people(uow, report.attendance),
        report.delivered_quantity,
        agreement=_agreement(uow, session.agreement_id),
        kind=_kind(uow, session.programme_kind),
        item=_item(uow, session.action_plan_item_id),
        today=today,
    )


def record_session_held(cmd: commands.RecordSessionHeld, uow: UnitOfWork, today: Clock) -> None:
    with uow:
        _hold(uow, _session(uow, cmd.session_id), cmd.report, today())
        uow.commit()


def cancel_session(cmd: commands.CancelSession, uow: UnitOfWork) -> None:
    with uow:
        _session(uow, cmd.session_id).cancel(cmd.reason)
        uow.commit()


def enrol(cmd: commands.Enrol, uow: UnitOfWork) -> str:
    with uow:
        person = _person(uow, cmd.person_id)
        enrolment = domain.Enrolment.enrol(
            _new_id(),
            person,
            _agreement(uow, cmd.agreement_id),
            _kind(uow, cmd.programme_kind),
            cmd.enrolled_on,
            uow.enrolments.active_of(person.person_id),
        )
        uow.enrolments.add(enrolment)
        uow.commit()
        return enrolment.id


def _issue(
    uow: UnitOfWork, enrolment: domain.Enrolment, on: date, result: commands.OutcomeInput
) -> domain.Outcome:
    if (existing := uow.outcomes.of_enrolment(enrolment.id)) is not None:
        raise domain.DuplicateError(
            "outcome_already_issued", f"enrolment {enrolment.id} already has outcome {existing}"
        )
    outcome = domain.Outcome.issue(
        _new_id(),
        enrolment,
        _kind(uow, enrolment.programme_kind),
        _person(uow, enrolment.person_id),
        on,
        passed=result.passed,
        level=result.level,
        score=result.score,
    )
    uow.outcomes.add(outcome)
    return outcome


def complete_enrolment(cmd: commands.CompleteEnrolment, uow: UnitOfWork) -> str | None:
    """Completes the enrolment; with an outcome, issues it too (both or neither)."""
    with uow:
        enrolment = _enrolment(uow, cmd.enrolment_id)
        enrolment.complete(cmd.completed_on)
        outcome = _issue(uow, enrolment, cmd.completed_on, cmd.outcome) if cmd.outcome else None
        uow.commit()
        return outcome.id if outcome else None


def exit_enrolment(cmd: commands.ExitEnrolment, uow: UnitOfWork) -> None:
    with uow:
        _enrolment(uow, cmd.enrolment_id).exit(cmd.exited_on, cmd.reason)
        uow.commit()


def issue_outcome(cmd: commands.IssueOutcome, uow: UnitOfWork) -> str:
    with uow:
        outcome = _issue(uow, _enrolment(uow, cmd.enrolment_id), cmd.issued_on, cmd.result)
        uow.commit()
        return outcome.id


def record_sale(cmd: commands.RecordSale, uow: UnitOfWork) -> str:
    with uow:
        sale = domain.Sale.record(
            cmd.new_id or _new_id(),
            _agreement(uow, cmd.agreement_id),
            cmd.sold_on,
            cmd.buyer_type,
            [
                domain.SaleLine(line.product, line.quantity, line.unit, line.unit_price_idr)
                for line in cmd.lines
            ],
        )
        uow.sales.add(sale)
        uow.commit()
        return sale.id


def exit_on_departure(cmd: commands.ExitOnDeparture, uow: UnitOfWork) -> int:
    """Runs inside the consumer's transaction (the caller commits with the inbox)."""
    active = uow.enrolments.active_of(cmd.person_id, cmd.facility)
    for enrolment in active:
        enrolment.exit(cmd.on, cmd.reason)
    return len(active)
