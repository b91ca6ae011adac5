"""Loads and saves people in custody; the only code that knows both domain and tables."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from services.identity import domain
from services.identity.names import canonical_name
from services.identity.orm import InmateRow
from shared.persistence.unit_of_work import ConcurrencyError

__all__ = ["ConcurrencyError", "InmateRepository"]


class InmateRepository:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.seen: dict[str, tuple[domain.Inmate, int | None, str]] = {}

    def add(self, inmate: domain.Inmate) -> None:
        self.seen[inmate.id] = (inmate, None, inmate.facility)

    def get(self, inmate_id: str) -> domain.Inmate | None:
        if inmate_id in self.seen:
            return self.seen[inmate_id][0]
        row = self._session.get(InmateRow, inmate_id)
        return self._track(row) if row else None

    def by_register(self, origin_facility: str, register_number: str) -> domain.Inmate | None:
        row = self._session.exec(
            select(InmateRow).where(
                col(InmateRow.origin_facility) == origin_facility,
                col(InmateRow.register_number) == register_number.strip(),
            )
        ).first()
        return self._track(row) if row else None

    def with_nik_hash(self, lookup_hash: str) -> list[domain.Inmate]:
        rows = self._session.exec(select(InmateRow).where(col(InmateRow.nik_hash) == lookup_hash))
        return [self._track(row) for row in rows]

    def born_on(self, birth_date: date) -> list[domain.Inmate]:
        rows = self._session.exec(select(InmateRow).where(col(InmateRow.birth_date) == birth_date))
        return [self._track(row) for row in rows]

    def _track(self, row: InmateRow) -> domain.Inmate:
        if row.id in self.seen:
            return self.seen[row.id][0]
        inmate = _from_row(row)
        self.seen[row.id] = (inmate, row.version, row.origin_facility)
        return inmate

    def flush(self) -> None:
        for inmate_id, (inmate, loaded, origin) in list(self.seen.items()):
            if loaded == inmate.version:
                continue
            values = _values(inmate)
            if loaded is None:
                self._session.execute(
                    insert(InmateRow), [{**values, "id": inmate.id, "origin_facility": origin}]
                )
            else:
                result = self._session.execute(
                    update(InmateRow)
                    .where(col(InmateRow.id) == inmate.id, col(InmateRow.version) == loaded)
                    .values(**values)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    raise ConcurrencyError(f"person {inmate.id} changed since version {loaded}")
            self.seen[inmate_id] = (inmate, inmate.version, origin)


def _values(inmate: domain.Inmate) -> dict[str, Any]:
    personal = inmate.personal
    nik = inmate.nik
    match = inmate.last_match
    return {
        "facility": inmate.facility,
        "register_number": inmate.register_number,
        "category": inmate.category.value,
        "name": personal.name,
        "canonical_name": canonical_name(personal.name),
        "aliases": list(personal.aliases),
        "sex": personal.sex.value,
        "birth_place": personal.birth_place,
        "birth_date": personal.birth_date,
        "mother_name": personal.mother_name,
        "address": personal.address,
        "admission_date": inmate.admission_date,
        "custody_status": inmate.custody_status.value,
        "custody_periods": [
            {
                "facility": p.facility,
                "since": p.since.isoformat(),
                "until": p.until.isoformat() if p.until else None,
            }
            for p in inmate.custody_periods
        ],
        "nik_hash": nik.lookup_hash if nik else None,
        "nik_ciphertext": nik.ciphertext if nik else None,
        "nik_masked": nik.masked if nik else None,
        "nik_problems": list(nik.problems) if nik else [],
        "nik_status": inmate.nik_status.value,
        "last_match": (
            {
                "kind": match.kind.value,
                "mismatched_fields": list(match.mismatched_fields),
                "alive": match.alive,
                "job_id": match.job_id,
            }
            if match
            else None
        ),
        "review_note": inmate.review_note,
        "version": inmate.version,
    }


def _from_row(row: InmateRow) -> domain.Inmate:
    match = row.last_match
    return domain.Inmate(
        id=row.id,
        facility=row.facility,
        register_number=row.register_number,
        category=domain.Category(row.category),
        personal=domain.PersonalData(
            name=row.name,
            sex=domain.Sex(row.sex),
            birth_place=row.birth_place,
            birth_date=row.birth_date,
            mother_name=row.mother_name,
            address=row.address,
            aliases=tuple(row.aliases),
        ),
        admission_date=row.admission_date,
        custody_periods=[
            domain.CustodyPeriod(
                p["facility"],
                date.fromisoformat(p["since"]),
                date.fromisoformat(p["until"]) if p["until"] else None,
            )
            for p in row.custody_periods
        ],
        custody_status=domain.CustodyStatus(row.custody_status),
        nik=(
            domain.ProtectedNik(
                row.nik_hash, row.nik_ciphertext, row.nik_masked or "", tuple(row.nik_problems)
            )
            if row.nik_hash is not None or row.nik_problems
            else None
        ),
        nik_status=domain.NikStatus(row.nik_status),
        last_match=(
            domain.MatchOutcome(
                domain.MatchKind(match["kind"]),
                tuple(match["mismatched_fields"]),
                match["alive"],
                match["job_id"],
            )
            if match
            else None
        ),
        review_note=row.review_note,
        version=row.version,
    )
