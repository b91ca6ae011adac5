"""People in custody and the state of their NIK. Pure: no I/O, no cryptography.

The NIK itself never enters this model in clear: the handlers hand over its keyed
lookup hash and its ciphertext, plus the outcome of the structural check.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum


class Category(StrEnum):
    """Custody registers (Ditjenpas): A by detaining authority, B by sentence."""

    A_I = "A.I"
    A_II = "A.II"
    A_III = "A.III"
    A_IV = "A.IV"
    A_V = "A.V"
    B_I = "B.I"
    B_IIA = "B.IIa"
    B_IIB = "B.IIb"
    B_III = "B.III"

    @property
    def is_detainee(self) -> bool:
        return self.value.startswith("A.")


class CustodyStatus(StrEnum):
    DETAINEE = "detainee"
    CONVICT = "convict"
    RELEASED = "released"
    TRANSFERRED_OUT = "transferred_out"


class NikStatus(StrEnum):
    MISSING = "missing"
    UNVERIFIED = "unverified"
    INVALID = "invalid"
    MATCHED = "matched"
    PARTIAL = "partial"
    NOT_FOUND = "not_found"
    VALIDATED = "validated"
    REJECTED = "rejected"


class Sex(StrEnum):
    MALE = "L"
    FEMALE = "P"


class MatchKind(StrEnum):
    MATCHED = "matched"
    PARTIAL = "partial"
    NOT_FOUND = "not_found"
    INVALID = "invalid"


NEEDS_RECORDING = frozenset({NikStatus.MISSING, NikStatus.NOT_FOUND})
MATCHABLE = frozenset(
    {NikStatus.UNVERIFIED, NikStatus.MATCHED, NikStatus.PARTIAL, NikStatus.NOT_FOUND}
)
REVIEWABLE = frozenset({NikStatus.MATCHED, NikStatus.PARTIAL})


class IdentityError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PersonalData:
    name: str
    sex: Sex
    birth_place: str
    birth_date: date
    mother_name: str
    address: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProtectedNik:
    """What the model keeps of a NIK: never the number, only these."""

    lookup_hash: str | None  # None when the value was not even 16 digits: nothing to look up
    ciphertext: bytes | None
    masked: str
    problems: tuple[str, ...] = ()  # codes of failed structural rules; empty = valid


@dataclass(frozen=True)
class CustodyPeriod:
    facility: str
    since: date
    until: date | None = None


@dataclass(frozen=True)
class MatchOutcome:
    kind: MatchKind
    mismatched_fields: tuple[str, ...] = ()
    alive: bool | None = None
    job_id: str | None = None


# --- events -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InmateEvent:
    inmate_id: str
    version: int = 0


@dataclass(frozen=True, kw_only=True)
class Admitted(InmateEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class CategoryChanged(InmateEvent):
    previous: Category


@dataclass(frozen=True, kw_only=True)
class Transferred(InmateEvent):
    from_facility: str
    to_facility: str
    on: date


@dataclass(frozen=True, kw_only=True)
class Released(InmateEvent):
    on: date


@dataclass(frozen=True, kw_only=True)
class NikStatusChanged(InmateEvent):
    previous: NikStatus


# --- the aggregate ------------------------------------------------------------------------


@dataclass
class Inmate:
    id: str
    facility: str
    register_number: str
    category: Category
    personal: PersonalData
    admission_date: date
    custody_periods: list[CustodyPeriod]
    custody_status: CustodyStatus
    nik: ProtectedNik | None = None
    nik_status: NikStatus = NikStatus.MISSING
    last_match: MatchOutcome | None = None
    review_note: str | None = None  # who validated or why rejected
    version: int = 1
    events: list[InmateEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def admit(
        cls,
        id: str,
        facility: str,
        register_number: str,
        category: Category,
        personal: PersonalData,
        admission_date: date,
        nik: ProtectedNik | None,
    ) -> Inmate:
        register_number = register_number.strip()
        if not register_number:
            raise IdentityError("register_number_missing", "a register number is required")
        if not personal.name.strip():
            raise IdentityError("name_missing", "a name is required")
        if personal.birth_date > admission_date:
            raise IdentityError(
                "born_after_admission",
                f"birth date {personal.birth_date} is after admission {admission_date}",
            )
        inmate = cls(
            id=id,
            facility=facility,
            register_number=register_number,
            category=category,
            personal=personal,
            admission_date=admission_date,
            custody_periods=[CustodyPeriod(facility, admission_date)],
            custody_status=_status_of(category),
            nik=nik,
            nik_status=_status_of_nik(nik),
        )
        inmate.events.append(Admitted(inmate_id=id, version=1))
        return inmate

    @property
    def in_custody(self) -> bool:
        return self.custody_status in (CustodyStatus.DETAINEE, CustodyStatus.CONVICT)

    @property
    def needs_recording(self) -> bool:
        return self.in_custody and self.nik_status in NEEDS_RECORDING

    def change_category(self, category: Category) -> bool:
        self._require_custody("change the category of")
        if category is self.category:
            return False
        previous, self.category = self.category, category
        self.custody_status = _status_of(category)
        self._record(CategoryChanged(inmate_id=self.id, previous=previous))
        return True

    def transfer(self, to_facility: str, on: date) -> None:
        self._require_custody("transfer")
        current = self.custody_periods[-1]
        if to_facility == current.facility:
            raise IdentityError("transfer_to_same_facility", f"already at {to_facility}")
        if on < current.since:
            raise IdentityError(
                "transfer_before_admission", f"transfer {on} precedes custody since {current.since}"
            )
        self.custody_periods[-1] = replace(current, until=on)
        self.custody_periods.append(CustodyPeriod(to_facility, on))
        self.facility = to_facility
        self._record(
            Transferred(
                inmate_id=self.id, from_facility=current.facility, to_facility=to_facility, on=on
            )
        )

    def release(self, on: date) -> None:
        self._require_custody("release")
        current = self.custody_periods[-1]
        if on < current.since:
            raise IdentityError(
                "release_before_admission", f"release {on} precedes {current.since}"
            )
        self.custody_periods[-1] = replace(current, until=on)
        self.custody_status = CustodyStatus.RELEASED
        self._record(Released(inmate_id=self.id, on=on))

    def record_nik(self, nik: ProtectedNik | None) -> bool:
        """A NIK entered or corrected (e.g. after a recording session): check it again."""
        if nik == self.nik:
            return False
        self.nik, self.last_match, self.review_note = nik, None, None
        if not self._set_nik_status(_status_of_nik(nik)):
            self.version += 1  # a new number with the same status is still a change to save
        return True

    def record_match(self, outcome: MatchOutcome) -> bool:
        if self.nik is None:
            raise IdentityError("no_nik", "there is no NIK to match")
        if outcome == self.last_match and self.nik_status is not NikStatus.UNVERIFIED:
            return False
        self.last_match = outcome
        self.review_note = None
        status = {
            MatchKind.MATCHED: NikStatus.MATCHED,
            MatchKind.PARTIAL: NikStatus.PARTIAL,
            MatchKind.NOT_FOUND: NikStatus.NOT_FOUND,
            MatchKind.INVALID: NikStatus.INVALID,
        }[outcome.kind]
        if not self._set_nik_status(status):
            self.version += 1  # a new outcome with the same status is still a change
        return True

    def validate(self, officer: str) -> None:
        if self.nik_status not in REVIEWABLE:
            raise IdentityError(
                "not_reviewable", f"a NIK in status {self.nik_status.value} cannot be validated"
            )
        self.review_note = f"validated by {officer}"
        self._set_nik_status(NikStatus.VALIDATED)

    def reject(self, officer: str, reason: str) -> None:
        if self.nik_status not in REVIEWABLE:
            raise IdentityError(
                "not_reviewable", f"a NIK in status {self.nik_status.value} cannot be rejected"
            )
        if not reason.strip():
            raise IdentityError("reason_missing", "a rejection needs a reason")
        self.review_note = f"rejected by {officer}: {reason.strip()}"
        self._set_nik_status(NikStatus.REJECTED)

    def registry_changed(self) -> bool:
        """The registry reported a death or a correction: the last result no longer holds."""
        if self.nik is None or self.nik_status in (NikStatus.INVALID, NikStatus.UNVERIFIED):
            return False
        self.review_note = "re-check after a registry change"
        return self._set_nik_status(NikStatus.UNVERIFIED)

    def _set_nik_status(self, status: NikStatus) -> bool:
        if status is self.nik_status:
            return False
        previous, self.nik_status = self.nik_status, status
        self._record(NikStatusChanged(inmate_id=self.id, previous=previous))
        return True

    def _require_custody(self, action: str) -> None:
        if not self.in_custody:
            raise IdentityError(
                "not_in_custody", f"cannot {action} a person who is {self.custody_status.value}"
            )

    def _record(self, event: InmateEvent) -> None:
        self.version += 1
        self.events.append(replace(event, version=self.version))


def _status_of(category: Category) -> CustodyStatus:
    return CustodyStatus.DETAINEE if category.is_detainee else CustodyStatus.CONVICT


def _status_of_nik(nik: ProtectedNik | None) -> NikStatus:
    if nik is None:
        return NikStatus.MISSING
    return NikStatus.INVALID if nik.problems else NikStatus.UNVERIFIED


def match_outcome(
    nik_found: bool, verification: dict[str, bool], alive: bool | None, job_id: str | None
) -> MatchOutcome:
    """Classify a registry answer: every submitted field matches, some do, or no record."""
    if not nik_found:
        return MatchOutcome(MatchKind.NOT_FOUND, job_id=job_id)
    mismatched = tuple(sorted(name for name, ok in verification.items() if not ok))
    kind = MatchKind.PARTIAL if mismatched else MatchKind.MATCHED
    return MatchOutcome(kind, mismatched, alive, job_id)
