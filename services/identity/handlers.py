"""Use cases of the identity service: load people, ask them to change, commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert

from services.identity import commands, domain
from services.identity.audit import Access, record_access
from services.identity.names import same_person_name
from services.identity.nik import check_nik, mask_nik, normalise_nik
from services.identity.orm import DuplicateFlagRow
from services.identity.protection import NikVault
from services.identity.unit_of_work import UnitOfWork

UnitOfWorkFactory = Callable[[], UnitOfWork]


class NotFoundError(Exception):
    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"{what} {key} not found")


@dataclass(frozen=True)
class Admission:
    person_id: str
    outcome: str  # imported, unchanged, updated
    duplicates: tuple[str, ...] = ()


def protect(
    vault: NikVault, raw: str | None, personal: domain.PersonalData
) -> domain.ProtectedNik | None:
    """Check a NIK against the recorded birth date and sex, then keep only its protected forms."""
    if raw is None or not raw.strip():
        return None
    check = check_nik(raw, birth_date=personal.birth_date, sex=personal.sex.value)
    problems = tuple(problem.code for problem in check.errors)
    digits = normalise_nik(raw)
    if digits is None:
        # Not even 16 digits: keep why, not the value; staff enter the right number later.
        return domain.ProtectedNik(None, None, mask_nik(None), problems)
    return domain.ProtectedNik(
        lookup_hash=vault.lookup_hash(digits),
        ciphertext=vault.encrypt(digits),
        masked=mask_nik(digits),
        problems=problems,
    )


def _person(uow: UnitOfWork, person_id: str) -> domain.Inmate:
    inmate = uow.inmates.get(person_id)
    if inmate is None:
        raise NotFoundError("person", person_id)
    return inmate


def admit_into(uow: UnitOfWork, cmd: commands.Admit, vault: NikVault) -> Admission:
    """Admit within the caller's transaction (the roster import batches rows)."""
    existing = uow.inmates.by_register(cmd.facility, cmd.register_number)
    if existing is not None:
        return _readmit(existing, cmd)
    nik = protect(vault, cmd.nik, cmd.personal)
    inmate = domain.Inmate.admit(
        str(uuid.uuid4()),
        cmd.facility,
        cmd.register_number,
        cmd.category,
        cmd.personal,
        cmd.admission_date,
        nik,
    )
    duplicates = _possible_duplicates(uow, inmate)
    uow.inmates.add(inmate)
    uow.inmates.flush()  # later rows of the same import must see this person
    if duplicates:
        now = datetime.now(UTC)
        uow.session.execute(
            insert(DuplicateFlagRow),
            [
                {"person_id": inmate.id, "other_id": other, "reason": reason, "flagged_at": now}
                for other, reason in duplicates
            ],
        )
    return Admission(inmate.id, "imported", tuple(other for other, _ in duplicates))


def _readmit(existing: domain.Inmate, cmd: commands.Admit) -> Admission:
    if existing.personal != cmd.personal or existing.admission_date != cmd.admission_date:
        raise domain.IdentityError(
            "register_number_taken",
            f"register number {cmd.register_number} is already recorded with other personal data",
        )
    if existing.in_custody and existing.change_category(cmd.category):
        return Admission(existing.id, "updated")
    return Admission(existing.id, "unchanged")


def _possible_duplicates(uow: UnitOfWork, inmate: domain.Inmate) -> list[tuple[str, str]]:
    """Same NIK hash, or a near-identical name, birth date and mother's name: for review."""
    found: dict[str, str] = {}
    if inmate.nik is not None and inmate.nik.lookup_hash is not None:
        for other in uow.inmates.with_nik_hash(inmate.nik.lookup_hash):
            found.setdefault(other.id, "same_nik")
    for other in uow.inmates.born_on(inmate.personal.birth_date):
        if same_person_name(other.personal.name, inmate.personal.name) and same_person_name(
            other.personal.mother_name, inmate.personal.mother_name
        ):
            found.setdefault(other.id, "similar_identity")
    found.pop(inmate.id, None)
    return sorted(found.items())


def admit(cmd: commands.Admit, uow: UnitOfWork, vault: NikVault) -> Admission:
    with uow:
        admission = admit_into(uow, cmd, vault)
        uow.commit()
        return admission


def change_category(cmd: commands.ChangeCategory, uow: UnitOfWork) -> None:
    with uow:
        _person(uow, cmd.person_id).change_category(cmd.category)
        uow.commit()


def transfer(cmd: commands.Transfer, uow: UnitOfWork) -> None:
    with uow:
        _person(uow, cmd.person_id).transfer(cmd.to_facility, cmd.on)
        uow.commit()


def release(cmd: commands.Release, uow: UnitOfWork) -> None:
    with uow:
        _person(uow, cmd.person_id).release(cmd.on)
        uow.commit()


def record_nik(cmd: commands.RecordNik, uow: UnitOfWork, vault: NikVault) -> domain.NikStatus:
    with uow:
        inmate = _person(uow, cmd.person_id)
        inmate.record_nik(protect(vault, cmd.nik, inmate.personal))
        record_access(
            uow.session,
            facility=inmate.facility,
            actor=cmd.actor,
            action=Access.RECORD_NIK,
            purpose="record or correct the NIK",
            person_id=inmate.id,
        )
        uow.commit()
        return inmate.nik_status


def review(cmd: commands.Review, uow: UnitOfWork) -> domain.NikStatus:
    with uow:
        inmate = _person(uow, cmd.person_id)
        if cmd.confirm:
            inmate.validate(cmd.officer)
        else:
            inmate.reject(cmd.officer, cmd.reason or "")
        uow.commit()
        return inmate.nik_status


def reveal_nik(person_id: str, actor: str, purpose: str, uow: UnitOfWork, vault: NikVault) -> str:
    """The NIK in clear, for the registration role only; the read is audited in the same commit."""
    if not purpose.strip():
        raise domain.IdentityError("purpose_missing", "reading a NIK needs a stated purpose")
    with uow:
        inmate = _person(uow, person_id)
        if inmate.nik is None or inmate.nik.ciphertext is None:
            raise domain.IdentityError("no_nik", "no readable NIK is recorded for this person")
        record_access(
            uow.session,
            facility=inmate.facility,
            actor=actor,
            action=Access.READ_NIK,
            purpose=purpose.strip(),
            person_id=inmate.id,
        )
        nik = vault.decrypt(inmate.nik.ciphertext)
        uow.commit()
        return nik
