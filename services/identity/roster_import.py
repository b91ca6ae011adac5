"""Roster import from CSV or XLSX, the way facilities keep their lists today.

Each row is admitted on its own terms: a bad row is refused with its reason and never
stops the good ones; a row already recorded is left unchanged, so re-importing a file
changes nothing. Reasons name fields, never the values (a value may be a NIK).
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from services.identity import commands, domain
from services.identity.handlers import admit_into
from services.identity.orm import ImportRowResultRow, ImportRunRow
from services.identity.protection import NikVault
from services.identity.unit_of_work import UnitOfWork

COLUMNS: dict[str, tuple[str, ...]] = {
    "register_number": ("register_number", "no_registrasi", "nomor_registrasi", "no_reg"),
    "name": ("name", "nama", "nama_lengkap"),
    "aliases": ("aliases", "alias"),
    "sex": ("sex", "jenis_kelamin", "jk"),
    "birth_place": ("birth_place", "tempat_lahir"),
    "birth_date": ("birth_date", "tanggal_lahir", "tgl_lahir"),
    "mother_name": ("mother_name", "nama_ibu", "nama_ibu_kandung"),
    "address": ("address", "alamat"),
    "nik": ("nik",),
    "category": ("category", "kategori", "golongan"),
    "admission_date": ("admission_date", "tanggal_masuk", "tgl_masuk"),
}
REQUIRED = (
    "register_number",
    "name",
    "sex",
    "birth_place",
    "birth_date",
    "mother_name",
    "admission_date",
)
DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y")
SEXES = {
    "L": "L",
    "LAKI-LAKI": "L",
    "M": "L",
    "MALE": "L",
    "P": "P",
    "PEREMPUAN": "P",
    "F": "P",
    "FEMALE": "P",
}
CATEGORIES = {c.value.replace(".", "").upper(): c for c in domain.Category}
Progress = Callable[[int, int], None]


class RosterRow(BaseModel):
    # Spreadsheets store register numbers (and names of places...) as numbers when they can.
    model_config = ConfigDict(str_strip_whitespace=True, coerce_numbers_to_str=True)

    register_number: str
    name: str
    aliases: tuple[str, ...] = ()
    sex: domain.Sex
    birth_place: str
    birth_date: date
    mother_name: str
    address: str = ""
    nik: str | None = None
    category: domain.Category = domain.Category.A_I
    admission_date: date

    @field_validator("birth_date", "admission_date", mode="before")
    @classmethod
    def _date(cls, value: object) -> object:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, str):
            for pattern in DATE_FORMATS:
                try:
                    return datetime.strptime(value.strip(), pattern).date()
                except ValueError:
                    continue
            raise ValueError("not a date (use YYYY-MM-DD or DD-MM-YYYY)")
        return value

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().upper() in SEXES:
            return SEXES[value.strip().upper()]
        raise ValueError("use L or P")

    @field_validator("category", mode="before")
    @classmethod
    def _category(cls, value: object) -> object:
        if value in (None, ""):
            return domain.Category.A_I
        key = str(value).replace(".", "").replace(" ", "").upper()
        if key in CATEGORIES:
            return CATEGORIES[key]
        raise ValueError("not a custody register (A.I-A.V, B.I, B.IIa, B.IIb, B.III)")

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(";") if part.strip())
        return value or ()

    @field_validator("nik", mode="before")
    @classmethod
    def _nik(cls, value: object) -> object:
        if isinstance(value, int | float):
            return f"{int(value):016d}"  # spreadsheets turn long numbers into numbers
        return value or None


@dataclass
class ImportReport:
    run_id: str
    file_name: str
    rows: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, outcome, _, _ in self.rows:
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts


def read_rows(content: bytes, file_name: str) -> Iterator[tuple[int, dict[str, object]]]:
    """Data rows with their spreadsheet row number, keyed by our column names."""
    raw_rows = iter(_table(content, file_name))
    header = next(raw_rows, None)
    if header is None:
        return
    names = [_column(str(cell or "")) for cell in header]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise domain.IdentityError("missing_columns", f"the header lacks: {', '.join(missing)}")
    for number, values in enumerate(raw_rows, start=2):
        if all(value in (None, "") for value in values):
            continue
        yield (
            number,
            {
                name: value
                for name, value in zip(names, values, strict=False)
                if name and value not in (None, "")
            },
        )


def _table(content: bytes, file_name: str) -> list[tuple[object, ...]]:
    """Every row of the file; a file that cannot be read is refused (422), never a crash."""
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            return list(workbook.active.iter_rows(values_only=True))
        except Exception as error:  # not a zip, not a workbook, a damaged sheet...
            raise domain.IdentityError(
                "unreadable_file", "the file is not a readable XLSX workbook"
            ) from error
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise domain.IdentityError("unreadable_file", "a CSV roster must be UTF-8 text") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:  # a single column or an empty file: the header check decides
        dialect = csv.excel
    try:
        return [tuple(row) for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as error:
        raise domain.IdentityError("unreadable_file", "the file is not readable CSV") from error


def _column(header: str) -> str:
    key = header.strip().lower().replace(" ", "_")
    return next((name for name, aliases in COLUMNS.items() if key in aliases), "")


def parse_row(values: dict[str, object], facility: str) -> commands.Admit:
    try:
        row = RosterRow.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)
        )
        raise domain.IdentityError("invalid_row", problems) from None
    return commands.Admit(
        facility=facility,
        register_number=row.register_number,
        category=row.category,
        personal=domain.PersonalData(
            name=row.name,
            sex=row.sex,
            birth_place=row.birth_place,
            birth_date=row.birth_date,
            mother_name=row.mother_name,
            address=row.address,
            aliases=row.aliases,
        ),
        admission_date=row.admission_date,
        nik=row.nik,
    )


def import_roster(
    content: bytes,
    file_name: str,
    *,
    facility: str,
    actor: str,
    uow_factory: Callable[[], UnitOfWork],
    vault: NikVault,
    progress: Progress | None = None,
    chunk: int = 200,
) -> ImportReport:
    report = ImportReport(str(uuid.uuid4()), file_name)
    rows = list(read_rows(content, file_name))
    for start in range(0, len(rows), chunk):
        report.rows += _import_chunk(rows[start : start + chunk], facility, uow_factory, vault)
        if progress:
            progress(min(start + chunk, len(rows)), len(rows))
    with uow_factory() as uow:
        uow.session.execute(
            insert(ImportRunRow),
            [
                {
                    "id": report.run_id,
                    "facility": facility,
                    "file_name": file_name,
                    "file_sha256": hashlib.sha256(content).hexdigest(),
                    "imported_by": actor,
                    "at": datetime.now(UTC),
                    "counts": report.counts,
                }
            ],
        )
        if report.rows:
            uow.session.execute(
                insert(ImportRowResultRow),
                [
                    {
                        "run_id": report.run_id,
                        "row_number": n,
                        "outcome": o,
                        "reason": r,
                        "person_id": p,
                    }
                    for n, o, r, p in report.rows
                ],
            )
        uow.commit()
    return report


def _import_chunk(
    rows: list[tuple[int, dict[str, object]]],
    facility: str,
    uow_factory: Callable[[], UnitOfWork],
    vault: NikVault,
) -> list[tuple[int, str, str | None, str | None]]:
    try:
        return _admit_rows(rows, facility, uow_factory, vault)
    except IntegrityError:
        if len(rows) == 1:
            return [(rows[0][0], "refused", "conflicts with a record written meanwhile", None)]
    return [result for row in rows for result in _import_chunk([row], facility, uow_factory, vault)]


def _admit_rows(
    rows: list[tuple[int, dict[str, object]]],
    facility: str,
    uow_factory: Callable[[], UnitOfWork],
    vault: NikVault,
) -> list[tuple[int, str, str | None, str | None]]:
    results: list[tuple[int, str, str | None, str | None]] = []
    with uow_factory() as uow:
        for number, values in rows:
            try:
                admission = admit_into(uow, parse_row(values, facility), vault)
            except domain.IdentityError as refused:
                results.append((number, "refused", refused.message, None))
                continue
            note = (
                f"possible duplicate of {len(admission.duplicates)} person(s)"
                if admission.duplicates
                else None
            )
            results.append((number, admission.outcome, note, admission.person_id))
        uow.commit()
    return results
