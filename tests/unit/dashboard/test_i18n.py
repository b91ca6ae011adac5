"""The dashboard's message catalogue: Bahasa Indonesia by default, English complete."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from services.dashboard import views
from services.dashboard.i18n import Messages, catalogue, language_of

TEMPLATES = Path(views.__file__).with_name("templates")


def test_both_languages_have_exactly_the_same_messages() -> None:
    words = catalogue()
    assert set(words["id"]) == set(words["en"])


def test_every_message_a_template_asks_for_exists() -> None:
    asked = set()
    for template in TEMPLATES.glob("*.html"):
        asked |= set(re.findall(r"""\bt\("([a-z_.]+)"[,)]""", template.read_text()))
    assert asked, "no t(...) calls found"
    assert asked <= set(catalogue()["id"])


@pytest.mark.parametrize(
    "prefix, values",
    [
        ("status.", views.AGREEMENT_STATUSES),
        ("nik_status.", views.NIK_STATUSES),
        ("milestone.", ("open", "met", "partially_met", "not_met")),
    ],
)
def test_every_status_has_a_label(prefix: str, values: tuple[str, ...]) -> None:
    for value in values:
        assert Messages("id")(prefix + value)
        assert Messages("en")(prefix + value)


def test_dates_and_numbers_are_written_the_indonesian_way_unless_english() -> None:
    assert Messages("id").date(date(2024, 8, 17)) == "17 Agustus 2024"
    assert Messages("en").date(date(2024, 8, 17)) == "17 August 2024"
    assert Messages("id").number(1234567) == "1.234.567"
    assert Messages("en").number(1234567) == "1,234,567"


def test_labels_are_in_bahasa_indonesia_by_default_and_english_when_asked() -> None:
    assert Messages("id")("nav.agreements") == "Perjanjian"
    assert Messages("en")("nav.agreements") == "Agreements"
    assert language_of(None, "id") == "id"
    assert language_of("en", "id") == "en"
    assert language_of("fr", "id") == "id"
