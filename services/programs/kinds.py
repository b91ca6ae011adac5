"""Programme kinds are data: read from kinds.json and seeded into `programme_kind` at start."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import Engine
from sqlmodel import Session

from services.programs.domain import OutcomeKind, QuantityRule
from services.programs.orm import ProgrammeKindRow


class KindEntry(BaseModel):
    """One entry of kinds.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")
    label_id: str = Field(min_length=1, description="The Indonesian name.")
    label_en: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    quantity_rule: QuantityRule
    enrolment: bool
    outcome: OutcomeKind | None
    enrolment_needs_validated_nik: bool = False


_ENTRIES = TypeAdapter(list[KindEntry])


def load_kinds(path: Path) -> list[KindEntry]:
    entries = _ENTRIES.validate_python(json.loads(path.read_text(encoding="utf-8")))
    codes = [entry.code for entry in entries]
    if len(set(codes)) != len(codes):
        raise ValueError(f"{path} lists a programme kind twice")
    return entries


def seed_kinds(engine: Engine, path: Path) -> int:
    """Insert or update every kind of the file; kinds no longer listed stay (sessions use them)."""
    entries = load_kinds(path)
    with Session(engine) as session, session.begin():
        for entry in entries:
            values = entry.model_dump(mode="json")
            row = session.get(ProgrammeKindRow, entry.code) or ProgrammeKindRow(**values)
            for name, value in values.items():
                setattr(row, name, value)
            session.add(row)
    return len(entries)
