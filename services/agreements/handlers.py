"""Use cases: load aggregates, ask them to change, commit. No HTTP, no Redis here."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.agreements import commands, domain
from services.agreements.documents import DocumentStore
from services.agreements.repository import ConcurrencyError
from services.agreements.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
Clock = Callable[[], date]
UnitOfWorkFactory = Callable[[], UnitOfWork]


class NotFoundError(Exception):
    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"{what} {key} not found")
        self.what = what
        self.key = key


@dataclass(frozen=True)
class Calendar:
    today: Clock
    expiry_notice_days: int


def _new_id() -> str:
    return str(uuid.uuid4())


def _partner(uow: UnitOfWork, partner_id: str) -> domain.Partner:
    partner = uow.partners.get(partner_id)
    if partner is None:
        raise NotFoundError("partner", partner_id)
    return partner


def _agreement(uow: UnitOfWork, agreement_id: str) -> domain.Agreement:
    agreement = uow.agreements.get(agreement_id)
    if agreement is None:
        raise NotFoundError("agreement", agreement_id)
    return agreement


def register_partner(cmd: commands.RegisterPartner, uow: UnitOfWork) -> str:
    with uow:
        if uow.partners.by_code(cmd.facility, cmd.code) is not None:
            raise domain.DomainError(
                "partner_code_taken",
                f"partner code {cmd.code} is already registered at {cmd.facility}",
            )
        partner = domain.Partner.register(
            _new_id(), cmd.facility, cmd.code, cmd.name, cmd.kind, cmd.sectors
        )
        uow.partners.add(partner)
        uow.commit()
        return partner.id


def update_partner(cmd: commands.UpdatePartner, uow: UnitOfWork) -> None:
    with uow:
        _partner(uow, cmd.partner_id).update(cmd.name, cmd.sectors)
        uow.commit()


def draft_agreement(cmd: commands.DraftAgreement, uow: UnitOfWork) -> str:
    with uow:
        partner = _partner(uow, cmd.partner_id)
        prior = _agreement(uow, cmd.renews) if cmd.renews else None
        agreement = domain.Agreement.draft(
            _new_id(),
            cmd.facility,
            partner,
            cmd.facility_number,
            cmd.partner_number,
            cmd.title,
            cmd.programme_kinds,
            domain.Period(cmd.start_date, cmd.end_date),
            renews=prior,
        )
        uow.agreements.add(agreement)
        uow.commit()
        return agreement.id


def sign_agreement(cmd: commands.SignAgreement, uow: UnitOfWork, calendar: Calendar) -> None:
    with uow:
        agreement = _agreement(uow, cmd.agreement_id)
        others = uow.agreements.of_partner(agreement.partner_id)
        agreement.sign(
            cmd.signed_on,
            [domain.Signatory(s.party, s.name, s.position) for s in cmd.signatories],
            calendar.today(),
            others,
            calendar.expiry_notice_days,
        )
        if agreement.renews is not None:
            prior = _agreement(uow, agreement.renews)
            prior.mark_renewed_by(agreement.id)
        uow.commit()


def terminate_agreement(cmd: commands.TerminateAgreement, uow: UnitOfWork) -> None:
    with uow:
        _agreement(uow, cmd.agreement_id).terminate(cmd.reason, cmd.terminated_on)
        uow.commit()


def amend_agreement(cmd: commands.AmendAgreement, uow: UnitOfWork, calendar: Calendar) -> int:
    with uow:
        agreement = _agreement(uow, cmd.agreement_id)
        amendment = agreement.amend(
            cmd.rationale,
            cmd.effective_on,
            partner=_partner(uow, agreement.partner_id),
            other_agreements=uow.agreements.of_partner(agreement.partner_id),
            today=calendar.today(),
            title=cmd.title,
            programme_kinds=cmd.programme_kinds,
            end_date=cmd.end_date,
            expiry_notice_days=calendar.expiry_notice_days,
        )
        uow.commit()
        return amendment.number


def add_action_plan_item(cmd: commands.AddActionPlanItem, uow: UnitOfWork) -> str:
    with uow:
        item = _agreement(uow, cmd.agreement_id).add_action_plan_item(
            _new_id(),
            cmd.programme_kind,
            cmd.description,
            cmd.target_quantity,
            cmd.unit,
            domain.Period(cmd.period_start, cmd.period_end),
            cmd.responsible,
            cmd.counts,
        )
        uow.commit()
        return item.id


def attach_document(
    cmd: commands.AttachDocument, uow: UnitOfWork, store: DocumentStore
) -> domain.Document:
    with uow:
        agreement = _agreement(uow, cmd.agreement_id)
        sha256, size = store.save(cmd.content)
        document = domain.Document(cmd.name, cmd.media_type, sha256, size)
        agreement.attach_document(document)
        uow.commit()
        return document


def record_session_realisation(cmd: commands.RecordSessionRealisation, uow: UnitOfWork) -> bool:
    """Runs inside the consumer's transaction (the caller commits with the inbox)."""
    agreement = _agreement(uow, cmd.agreement_id)
    uow.agreements.with_ledger_of(agreement, [cmd.session_id])
    return agreement.record_realisation(
        cmd.item_id, cmd.session_id, cmd.quantity, cmd.held_on, cmd.sequence
    )


def advance_calendar(uow_factory: UnitOfWorkFactory, calendar: Calendar) -> int:
    """Move every due agreement to today's state; safe to run on every replica at once.

    Each agreement changes in its own transaction guarded by its version, so when two
    replicas race, one commits the transition and its events and the other backs off.
    """
    today = calendar.today()
    with uow_factory() as uow:
        due = uow.agreements.ids_due_on(today)
    changed = 0
    for agreement_id in due:
        try:
            with uow_factory() as uow:
                agreement = _agreement(uow, agreement_id)
                if agreement.advance(today, calendar.expiry_notice_days) or agreement.events:
                    uow.commit()
                    changed += 1
        except ConcurrencyError:
            log.info("agreement %s moved by another replica", agreement_id)
    return changed
