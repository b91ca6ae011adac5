"""What staff ask the identity service to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.identity.domain import Category, PersonalData


@dataclass(frozen=True)
class Admit:
    facility: str
    register_number: str
    category: Category
    personal: PersonalData
    admission_date: date
    nik: str | None = None  # as entered; protected before it reaches the model


@dataclass(frozen=True)
class ChangeCategory:
    person_id: str
    category: Category


@dataclass(frozen=True)
class Transfer:
    person_id: str
    to_facility: str
    on: date


@dataclass(frozen=True)
class Release:
    person_id: str
    on: date


@dataclass(frozen=True)
class RecordNik:
    person_id: str
    nik: str | None
    actor: str


@dataclass(frozen=True)
class Review:
    person_id: str
    officer: str
    confirm: bool
    reason: str | None = None
