"""The NIK scanner and UUIDs whose digits, read across the dashes, look like a NIK."""

from __future__ import annotations

from tests.privacy import PrivacyScanner

# 5 | 9601 | 2150 | 8901 | 234: province 59, day 15, month 08, serial 1234.
UUID_WITH_A_NIK_SHAPE = "f77176a5-9601-2150-8901-234ba3a03710"
THE_SAME_DIGITS = "5960121508901234"


def test_a_uuid_whose_digits_across_its_dashes_look_like_a_nik_is_not_a_nik() -> None:
    scanner = PrivacyScanner()
    text = f'{{"id":"{UUID_WITH_A_NIK_SHAPE}","correlationid":"{UUID_WITH_A_NIK_SHAPE}"}}'

    assert scanner.scan("stream entry", "t", text) == []


def test_the_same_digits_written_as_a_nik_are_still_found() -> None:
    scanner = PrivacyScanner()

    assert scanner.scan("log line", "t", f"nik={THE_SAME_DIGITS}")
    assert scanner.scan("log line", "t", "nik 5960-1215-0890-1234")
