"""Builders of the pure domain tests: a fake protected NIK, personal data, an admitted person."""

from __future__ import annotations

from datetime import date

from services.identity import domain

FACILITY = "rutan-barabai"
OTHER_FACILITY = "lapas-banjarmasin"
ADMITTED_ON = date(2024, 1, 10)


def fake_nik(
    digits: str = "6307061203850001", problems: tuple[str, ...] = ()
) -> domain.ProtectedNik:
    """What the handlers would keep of ``digits``, without any cryptography."""
    return domain.ProtectedNik(
        lookup_hash=f"hash-of-{len(digits)}-digits-{digits[-2:]}",
        ciphertext=b"sealed:" + digits[::-1].encode(),
        masked=f"{digits[0:2]}.{digits[2:4]}.**.******.****",
        problems=problems,
    )


def personal(name: str = "Ahmad Fauzi") -> domain.PersonalData:
    return domain.PersonalData(
        name=name,
        sex=domain.Sex.MALE,
        birth_place="Barabai",
        birth_date=date(1985, 3, 12),
        mother_name="Siti Aminah",
    )


def admitted(
    category: domain.Category = domain.Category.A_I,
    nik: domain.ProtectedNik | None = None,
    *,
    with_nik: bool = True,
) -> domain.Inmate:
    """A person admitted at FACILITY, their admission event cleared."""
    inmate = domain.Inmate.admit(
        "person-1",
        FACILITY,
        "AI-001/2024",
        category,
        personal(),
        ADMITTED_ON,
        nik if nik is not None or not with_nik else fake_nik(),
    )
    inmate.events.clear()
    return inmate


def matched(kind: domain.MatchKind = domain.MatchKind.MATCHED) -> domain.Inmate:
    inmate = admitted()
    inmate.record_match(
        domain.MatchOutcome(kind, ("mother_name",) if kind is domain.MatchKind.PARTIAL else ())
    )
    inmate.events.clear()
    return inmate
