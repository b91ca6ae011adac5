"""Loads and saves aggregates; the only place that knows both the domain and the tables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.sql.dml import Update
from sqlmodel import Session, col, select

from services.agreements import domain
from services.agreements.orm import (
    ActionPlanItemRow,
    AgreementRow,
    AmendmentRow,
    DocumentRow,
    PartnerRow,
    RealisationRow,
)
from shared.persistence.unit_of_work import ConcurrencyError

IN_FORCE = [status.value for status in domain.IN_FORCE]

# The statements of the busiest path (a realisation: load, record, save), built once: a
# Core statement reused with new parameters skips the per-call construction and most of the
# ORM's bookkeeping, which cost more than the SQL itself on SQLite.
_PARTNERS: Table = PartnerRow.__table__  # type: ignore[attr-defined]
_AGREEMENTS: Table = AgreementRow.__table__  # type: ignore[attr-defined]
_ITEMS: Table = ActionPlanItemRow.__table__  # type: ignore[attr-defined]
_AMENDMENTS: Table = AmendmentRow.__table__  # type: ignore[attr-defined]
_DOCUMENTS: Table = DocumentRow.__table__  # type: ignore[attr-defined]
_LEDGER: Table = RealisationRow.__table__  # type: ignore[attr-defined]

_AGREEMENT_BY_ID = core_select(_AGREEMENTS).where(_AGREEMENTS.c.id == bindparam("id"))
_ITEMS_OF = (
    core_select(_ITEMS).where(_ITEMS.c.agreement_id == bindparam("id")).order_by(_ITEMS.c.position)
)
_AMENDMENTS_OF = (
    core_select(_AMENDMENTS)
    .where(_AMENDMENTS.c.agreement_id == bindparam("id"))
    .order_by(_AMENDMENTS.c.number)
)
_DOCUMENTS_OF = (
    core_select(_DOCUMENTS)
    .where(_DOCUMENTS.c.agreement_id == bindparam("id"))
    .order_by(_DOCUMENTS.c.attached_at, _DOCUMENTS.c.sha256)
)
_LEDGER_OF = core_select(_LEDGER).where(
    _LEDGER.c.session_id.in_(bindparam("session_ids", expanding=True))
)
_ITEM_PROGRESS = (
    update(_ITEMS)
    .where(_ITEMS.c.id == bindparam("item_id"))
    .values(milestone=bindparam("new_milestone"), realised_quantity=bindparam("new_realised"))
)
_FORGET_REALISATION = delete(_LEDGER).where(_LEDGER.c.session_id == bindparam("session_id"))
# SET takes every other key of the parameters; the row must still be at the loaded version
_VERSIONED_UPDATES: dict[str, Update] = {
    table.name: update(table).where(
        table.c.id == bindparam("row_id"), table.c.version == bindparam("loaded_version")
    )
    for table in (_PARTNERS, _AGREEMENTS)
}


__all__ = ["AgreementRepository", "ConcurrencyError", "PartnerRepository"]


@dataclass
class _Loaded:
    version: int
    items: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> milestone, realised
    realisations: dict[str, int] = field(default_factory=dict)  # session id -> sequence
    ledger_read: set[str] = field(default_factory=set)  # session ids looked up in the ledger
    amendments: int = 0
    documents: set[str] = field(default_factory=set)


class PartnerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.seen: dict[str, tuple[domain.Partner, int | None]] = {}

    def add(self, partner: domain.Partner) -> None:
        self.seen[partner.id] = (partner, None)

    def get(self, partner_id: str) -> domain.Partner | None:
        if partner_id in self.seen:
            return self.seen[partner_id][0]
        row = self._session.get(PartnerRow, partner_id)
        return self._track(row) if row else None

    def by_code(self, facility: str, code: str) -> domain.Partner | None:
        row = self._session.exec(
            select(PartnerRow).where(PartnerRow.facility == facility, PartnerRow.code == code)
        ).first()
        return self._track(row) if row else None

    def _track(self, row: PartnerRow) -> domain.Partner:
        if row.id in self.seen:
            return self.seen[row.id][0]
        partner = domain.Partner(
            id=row.id,
            facility=row.facility,
            code=row.code,
            name=row.name,
            kind=domain.PartnerKind(row.kind),
            sectors=tuple(row.sectors),
            version=row.version,
        )
        self.seen[row.id] = (partner, row.version)
        return partner

    def flush(self) -> None:
        for partner, loaded_version in self.seen.values():
            values = {
                "name": partner.name,
                "sectors": list(partner.sectors),
                "version": partner.version,
            }
            if loaded_version is None:
                self._session.execute(
                    insert(_PARTNERS),
                    [
                        {
                            **values,
                            "id": partner.id,
                            "facility": partner.facility,
                            "code": partner.code,
                            "kind": partner.kind.value,
                        }
                    ],
                )
            elif partner.version != loaded_version:
                _update_versioned(self._session, PartnerRow, partner.id, loaded_version, values)
            self.seen[partner.id] = (partner, partner.version)


class AgreementRepository:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.seen: dict[str, tuple[domain.Agreement, _Loaded | None]] = {}

    def add(self, agreement: domain.Agreement) -> None:
        self.seen[agreement.id] = (agreement, None)

    def get(self, agreement_id: str) -> domain.Agreement | None:
        if agreement_id in self.seen:
            return self.seen[agreement_id][0]
        row = self._session.execute(_AGREEMENT_BY_ID, {"id": agreement_id}).first()
        return self._load(row) if row else None

    def of_partner(self, partner_id: str) -> list[domain.Agreement]:
        rows = self._session.exec(
            select(AgreementRow).where(AgreementRow.partner_id == partner_id)
        ).all()
        return [self.seen[row.id][0] if row.id in self.seen else self._load(row) for row in rows]

    def ids_due_on(self, today: date) -> list[str]:
        """Agreements the calendar may move today, or with an item whose period has ended."""
        open_items = select(ActionPlanItemRow.agreement_id).where(
            ActionPlanItemRow.milestone == domain.MilestoneStatus.OPEN.value,
            ActionPlanItemRow.period_end < today,
        )
        rows = self._session.execute(
            select(AgreementRow.id).where(
                or_(col(AgreementRow.status).in_(IN_FORCE), col(AgreementRow.id).in_(open_items))
            )
        )
        return [row[0] for row in rows]

    def _load(self, row: Any) -> domain.Agreement:
        """`row`: an AgreementRow, or a Core row of its table (the same attributes)."""
        session = self._session
        key = {"id": row.id}
        # the ledger itself stays in storage: each item carries its total, and a use case
        # asks for the entries it touches (`with_ledger_of`)
        items = [_item_from_row(item) for item in session.execute(_ITEMS_OF, key)]
        loaded = _Loaded(version=row.version, items={i.id: _item_mark(i) for i in items})
        amendments = [
            domain.Amendment(a.number, a.rationale, a.effective_on, dict(a.changes))
            for a in session.execute(_AMENDMENTS_OF, key)
        ]
        documents = [
            domain.Document(d.name, d.media_type, d.sha256, d.size_bytes)
            for d in session.execute(_DOCUMENTS_OF, key)
        ]
        loaded.amendments = len(amendments)
        loaded.documents = {d.sha256 for d in documents}
        agreement = domain.Agreement(
            id=row.id,
            facility=row.facility,
            partner_id=row.partner_id,
            partner_code=row.partner_code,
            facility_number=row.facility_number,
            partner_number=row.partner_number,
            title=row.title,
            programme_kinds=tuple(row.programme_kinds),
            period=domain.Period(row.start_date, row.end_date),
            status=domain.AgreementStatus(row.status),
            signed_on=row.signed_on,
            signatories=tuple(
                domain.Signatory(domain.Party(s["party"]), s["name"], s["position"])
                for s in row.signatories
            ),
            renews=row.renews,
            gap_days=row.gap_days,
            renewed_by=row.renewed_by,
            termination_reason=row.termination_reason,
            terminated_on=row.terminated_on,
            amendments=amendments,
            action_plan=items,
            documents=documents,
            version=row.version,
        )
        self.seen[row.id] = (agreement, loaded)
        return agreement

    def with_ledger_of(self, agreement: domain.Agreement, session_ids: Iterable[str]) -> None:
        """Puts the stored ledger entries of `session_ids` in the agreement's items' hands.

        One lookup by primary key: the work does not grow with the ledger.
        """
        _, loaded = self.seen[agreement.id]
        if loaded is None:  # added in this transaction: nothing stored yet
            return
        wanted = [s for s in dict.fromkeys(session_ids) if s not in loaded.ledger_read]
        if not wanted:
            return
        loaded.ledger_read.update(wanted)
        items = {item.id: item for item in agreement.action_plan}
        for r in self._session.execute(_LEDGER_OF, {"session_ids": wanted}):
            item = items.get(r.item_id)
            if item is None or r.session_id in item.realisations:
                continue
            item.realisations[r.session_id] = domain.Realisation(
                r.session_id, r.quantity, r.held_on, r.sequence
            )
            loaded.realisations[r.session_id] = r.sequence

    def flush(self) -> None:
        for agreement_id, (agreement, loaded) in list(self.seen.items()):
            if loaded is not None and agreement.version == loaded.version:
                continue
            values = _agreement_values(agreement)
            if loaded is None:
                self._session.execute(insert(_AGREEMENTS), [{**values, "id": agreement.id}])
                loaded = _Loaded(version=agreement.version)
            else:
                _update_versioned(self._session, AgreementRow, agreement.id, loaded.version, values)
            self._flush_children(agreement, loaded)
            self.seen[agreement_id] = (agreement, self._snapshot(agreement, loaded))

    def _flush_children(self, agreement: domain.Agreement, loaded: _Loaded) -> None:
        session = self._session
        for position, item in enumerate(agreement.action_plan):
            if item.id not in loaded.items:
                session.execute(insert(_ITEMS), [_item_values(agreement.id, position, item)])
            elif loaded.items[item.id] != _item_mark(item):
                session.execute(
                    _ITEM_PROGRESS,
                    {
                        "item_id": item.id,
                        "new_milestone": item.milestone.value,
                        "new_realised": item.realised,
                    },
                )
            for realisation in item.realisations.values():
                known = loaded.realisations.get(realisation.session_id)
                if known == realisation.sequence:
                    continue
                if known is not None:
                    session.execute(_FORGET_REALISATION, {"session_id": realisation.session_id})
                session.execute(
                    insert(_LEDGER),
                    [
                        {
                            "session_id": realisation.session_id,
                            "item_id": item.id,
                            "quantity": realisation.quantity,
                            "held_on": realisation.held_on,
                            "sequence": realisation.sequence,
                        }
                    ],
                )
        new_amendments = agreement.amendments[loaded.amendments :]
        if new_amendments:
            session.execute(
                insert(_AMENDMENTS),
                [
                    {
                        "agreement_id": agreement.id,
                        "number": a.number,
                        "rationale": a.rationale,
                        "effective_on": a.effective_on,
                        "changes": a.changes,
                    }
                    for a in new_amendments
                ],
            )
        new_documents = [d for d in agreement.documents if d.sha256 not in loaded.documents]
        if new_documents:
            now = datetime.now(UTC)
            session.execute(
                insert(_DOCUMENTS),
                [
                    {
                        "agreement_id": agreement.id,
                        "sha256": d.sha256,
                        "name": d.name,
                        "media_type": d.media_type,
                        "size_bytes": d.size_bytes,
                        # distinct times keep the attach order of one transaction on load
                        "attached_at": now + timedelta(microseconds=n),
                    }
                    for n, d in enumerate(new_documents)
                ],
            )

    @staticmethod
    def _snapshot(agreement: domain.Agreement, before: _Loaded) -> _Loaded:
        return _Loaded(
            version=agreement.version,
            items={item.id: _item_mark(item) for item in agreement.action_plan},
            realisations={
                r.session_id: r.sequence
                for item in agreement.action_plan
                for r in item.realisations.values()
            },
            ledger_read=before.ledger_read,
            amendments=len(agreement.amendments),
            documents={d.sha256 for d in agreement.documents},
        )


def _update_versioned(
    session: Session,
    table: type[AgreementRow] | type[PartnerRow],
    row_id: str,
    loaded: int,
    values: dict[str, object],
) -> None:
    result = session.execute(
        _VERSIONED_UPDATES[table.__tablename__],
        {**values, "row_id": row_id, "loaded_version": loaded},
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrencyError(f"{table.__tablename__} {row_id} changed since version {loaded}")


def _agreement_values(agreement: domain.Agreement) -> dict[str, object]:
    return {
        "facility": agreement.facility,
        "partner_id": agreement.partner_id,
        "partner_code": agreement.partner_code,
        "facility_number": agreement.facility_number,
        "partner_number": agreement.partner_number,
        "title": agreement.title,
        "programme_kinds": list(agreement.programme_kinds),
        "start_date": agreement.period.start,
        "end_date": agreement.period.end,
        "status": agreement.status.value,
        "signed_on": agreement.signed_on,
        "signatories": [
            {"party": s.party.value, "name": s.name, "position": s.position}
            for s in agreement.signatories
        ],
        "renews": agreement.renews,
        "gap_days": agreement.gap_days,
        "renewed_by": agreement.renewed_by,
        "termination_reason": agreement.termination_reason,
        "terminated_on": agreement.terminated_on,
        "version": agreement.version,
    }


def _item_mark(item: domain.ActionPlanItem) -> tuple[str, int]:
    """What a flush compares to know whether the item's row must be written."""
    return item.milestone.value, item.realised


def _item_values(
    agreement_id: str, position: int, item: domain.ActionPlanItem
) -> dict[str, object]:
    return {
        "id": item.id,
        "agreement_id": agreement_id,
        "position": position,
        "programme_kind": item.programme_kind,
        "description": item.description,
        "target_quantity": item.target_quantity,
        "unit": item.unit,
        "period_start": item.period.start,
        "period_end": item.period.end,
        "responsible": item.responsible.value,
        "milestone": item.milestone.value,
        "counts": item.counts.value if item.counts else None,
        "realised_quantity": item.realised,
    }


def _item_from_row(row: Any) -> domain.ActionPlanItem:
    return domain.ActionPlanItem(
        id=row.id,
        programme_kind=row.programme_kind,
        description=row.description,
        target_quantity=row.target_quantity,
        unit=row.unit,
        period=domain.Period(row.period_start, row.period_end),
        responsible=domain.Party(row.responsible),
        milestone=domain.MilestoneStatus(row.milestone),
        counts=domain.CountingRule(row.counts) if row.counts else None,
        realised_total=row.realised_quantity,
    )
