"""Masking of NIK (Indonesian 16-digit national id numbers) in free text and structures.

A NIK is a run of exactly 16 digits, possibly written in groups separated by single
spaces, dots or hyphens (``6307 0612 0390 0001``, ``63.07.06.120390.0001``). UUIDs,
ISO timestamps and Redis stream ids are recognised first and never masked.
"""

from __future__ import annotations

import re

__all__ = ["NIK_PLACEHOLDER", "redact", "redact_value"]

NIK_PLACEHOLDER = "[NIK]"
_NIK_DIGITS = 16

_HEX = "[0-9A-Fa-f]"
_PROTECTED = re.compile(
    "|".join(
        (
            # UUID
            rf"(?<!{_HEX}){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?!{_HEX})",
            # ISO 8601 date, optionally with time and offset
            r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}"
            r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
            r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
            r"(?![0-9])",
            # Redis stream id: millisecond timestamp, hyphen, sequence
            r"(?<![0-9.\-])[0-9]{13}-[0-9]+(?![0-9])",
        )
    )
)
# Digit groups joined by single separators; the NIK search happens inside each chain.
_CHAIN = re.compile(r"[0-9]+(?:[ .\-][0-9]+)*")
_GROUP = re.compile(r"[0-9]+")


def redact(text: str) -> str:
    """Return ``text`` with every NIK-like number replaced by ``[NIK]``."""
    parts: list[str] = []
    position = 0
    for protected in _PROTECTED.finditer(text):
        parts.append(_CHAIN.sub(_mask_chain, text[position : protected.start()]))
        parts.append(protected.group())
        position = protected.end()
    parts.append(_CHAIN.sub(_mask_chain, text[position:]))
    return "".join(parts)


def redact_value(value: object) -> object:
    """Recursively redact strings (and NIK-like integers) inside dicts, lists and tuples."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return NIK_PLACEHOLDER if redact(str(value)) != str(value) else value
    if isinstance(value, dict):
        return {redact_value(key): redact_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_value(item) for item in value)
    return value


def _mask_chain(match: re.Match[str]) -> str:
    """Mask each run of consecutive groups inside a chain that adds up to 16 digits.

    Groups are atomic, so a 17-digit number never loses a 16-digit slice, while
    ``1 6307061203900001`` (a NIK after an unrelated number) is still caught.
    """
    chain = match.group()
    groups = [(group.start(), group.end()) for group in _GROUP.finditer(chain)]
    masked: list[str] = []
    cursor = 0
    index = 0
    while index < len(groups):
        end_index = _nik_span_end(groups, index)
        if end_index is None:
            index += 1
            continue
        start, end = groups[index][0], groups[end_index][1]
        masked.append(chain[cursor:start])
        masked.append(NIK_PLACEHOLDER)
        cursor = end
        index = end_index + 1
    masked.append(chain[cursor:])
    return "".join(masked)


def _nik_span_end(groups: list[tuple[int, int]], first: int) -> int | None:
    digits = 0
    for index in range(first, len(groups)):
        start, end = groups[index]
        digits += end - start
        if digits == _NIK_DIGITS:
            return index
        if digits > _NIK_DIGITS:
            return None
    return None
