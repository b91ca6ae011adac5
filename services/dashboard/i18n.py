"""The dashboard's words: one catalogue (messages.json), Bahasa Indonesia unless told `en`."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal, cast

Language = Literal["id", "en"]
LANGUAGES: tuple[Language, ...] = ("id", "en")
CATALOGUE_FILE = Path(__file__).with_name("messages.json")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    return cast(dict[str, dict[str, str]], json.loads(CATALOGUE_FILE.read_text("utf-8")))


def language_of(value: str | None, default: Language) -> Language:
    for language in LANGUAGES:
        if value == language:
            return language
    return default


class Messages:
    """`t("key", name=...)` in templates; dates and numbers in the language's own style."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._words = catalogue()[language]

    def __call__(self, key: str, **values: object) -> str:
        template = self._words.get(key)
        if template is None:
            raise KeyError(f"no message {key!r} in {self.language}")
        return template.format(**values) if values else template

    def date(self, value: date) -> str:
        return f"{value.day} {self(f'month.{value.month}')} {value.year}"

    def number(self, value: int) -> str:
        grouped = f"{value:,}"
        return grouped.replace(",", ".") if self.language == "id" else grouped
