"""Loads and saves people in custody; the only code that knows both domain and tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import Table, Update, bindparam, insert, update
from sqlmodel import Session, col, select

from services.identity import domain
from services.identity.names import canonical_name
from services.identity.orm import InmateRow
from shared.persistence.unit_of_work import ConcurrencyError

__all__ = ["ConcurrencyError", "InmateRepository"]

_inmate: Table = InmateRow.__table__  # type: ignore[attr-defined]
_IN_CHUNK: Final = 500  # ids per IN list
_UPDATED: Final = tuple(c.name for c in _inmate.columns if c.name not in ("id", "origin_facility"))


@lru_cache(maxsize=64)
def _versioned_update(columns: tuple[str, ...]) -> Update:
    """A versioned update of these columns, run with many parameter sets (executemany)."""
    return (
        update(_inmate)
        .where(_inmate.c.id == bindparam("_id"), _inmate.c.version == bindparam("_loaded"))
        .values({name: bindparam(name) for name in columns})
    )


class InmateRepository:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.seen: dict[str, tuple[domain.Inmate, int | None, str]] = {}
        self._stored: dict[str, dict[str, Any]] = {}  # column values as last read or written

    def add(self, inmate: domain.Inmate) -> None:
        self.seen[inmate.id] = (inmate, None, inmate.facility)

    def get(self, inmate_id: str) -> domain.Inmate | None:
        if inmate_id in self.seen:
            return self.seen[inmate_id][0]
        row = self._session.get(InmateRow, inmate_id)
        return self._track(row) if row else None

    def get_many(self, inmate_ids: Iterable[str]) -> dict[str, domain.Inmate]:
        """The people found among ``inmate_ids``, by id; one query per 500 ids."""
        wanted = list(dict.fromkeys(inmate_ids))
        found = {i: self.seen[i][0] for i in wanted if i in self.seen}
        missing = [i for i in wanted if i not in found]
        for start in range(0, len(missing), _IN_CHUNK):
            chunk = missing[start : start + _IN_CHUNK]
            for row in self._session.execute(_inmate.select().where(_inmate.c.id.in_(chunk))):
                found[row.id] = self._track(row)
        return found

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

    def _track(self, row: Any) -> domain.Inmate:
        """``row``: an ``InmateRow`` or a table row with the same attributes."""
        if row.id in self.seen:
            return self.seen[row.id][0]
        inmate = _from_row(row)
        self.seen[row.id] = (inmate, row.version, row.origin_facility)
        self._stored[row.id] = {name: getattr(row, name) for name in _UPDATED}
        return inmate

    def flush(self) -> None:
        """Write what changed: new people in one insert, changed ones in one executemany.

        Each update applies only if the row still has the version it was loaded with; if any
        does not, :class:`ConcurrencyError` (the caller's transaction is then rolled back).
        """
        inserts: list[dict[str, Any]] = []
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by the columns changed
        for inmate_id, (inmate, loaded, origin) in self.seen.items():
            if loaded == inmate.version:
                continue
            stored = self._stored.get(inmate_id)
            values = _values(inmate, stored)
            if loaded is None or stored is None:
                inserts.append({**values, "id": inmate.id, "origin_facility": origin})
            else:
                changed = {k: v for k, v in values.items() if stored[k] != v}
                changed |= {"_id": inmate_id, "_loaded": loaded}
                updates.setdefault(tuple(sorted(changed)), []).append(changed)
            self._stored[inmate_id] = values
        if inserts:
            self._session.execute(insert(_inmate), inserts)
        for columns, rows in updates.items():
            names = tuple(name for name in columns if not name.startswith("_"))
            result = self._session.execute(_versioned_update(names), rows)
            if result.rowcount != len(rows):  # type: ignore[attr-defined]
                if len(rows) == 1:
                    raise ConcurrencyError(
                        f"person {rows[0]['_id']} changed since version {rows[0]['_loaded']}"
                    )
                stale = len(rows) - result.rowcount  # type: ignore[attr-defined]
                raise ConcurrencyError(f"{stale} of {len(rows)} people changed since loaded")
        for inmate_id, (inmate, _, origin) in list(self.seen.items()):
            self.seen[inmate_id] = (inmate, inmate.version, origin)


def _values(inmate: domain.Inmate, stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The row's column values; ``stored``: the values it has now, to reuse what is derived."""
    personal = inmate.personal
    canonical = (
        stored["canonical_name"]
        if stored is not None and stored["name"] == personal.name
        else canonical_name(personal.name)
    )
    nik = inmate.nik
    match = inmate.last_match
    return {
        "facility": inmate.facility,
        "register_number": inmate.register_number,
        "category": inmate.category.value,
        "name": personal.name,
        "canonical_name": canonical,
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


def _from_row(row: Any) -> domain.Inmate:
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
