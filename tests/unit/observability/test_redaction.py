import pytest

from shared.observability.redaction import redact, redact_value

NIK = "6307061203900001"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NIK, "[NIK]"),
        (f"nik={NIK}", "nik=[NIK]"),
        (f"NIK {NIK}, accepted", "NIK [NIK], accepted"),
        ("6307 0612 0390 0001", "[NIK]"),
        ("63.07.06.120390.0001", "[NIK]"),
        ("6307-0612-0390-0001", "[NIK]"),
        ("63 07 06 120390 0001.", "[NIK]."),
        (f"ids {NIK} and 3201010101010002", "ids [NIK] and [NIK]"),
        (f"row 7 {NIK}", "row 7 [NIK]"),
        (f'{{"nik": "{NIK}"}}', '{"nik": "[NIK]"}'),
        (f"/persons/{NIK}/matches", "/persons/[NIK]/matches"),
    ],
)
def test_redact_masks_nik_like_numbers(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "550e8400-e29b-41d4-a716-446655440000",
        "abcdef12-abcd-abcd-1234-123456789012",
        "12345678-1234-1234-1234-123456789012",
        "2023-03-13T10:00:00Z",
        "2023-03-13T10:00:00.123456+07:00",
        "2023-03-13 10:00:00",
        "1700000000000-0",
        "stream entry 1700000000000-123 acked",
        "630706120390000",
        "63070612039000012",
        "12345678901234567890",
        "phone 0812-3456-7890",
        "",
        "no digits at all",
    ],
)
def test_redact_leaves_non_nik_text_untouched(text: str) -> None:
    assert redact(text) == text


def test_redact_masks_a_nik_next_to_a_protected_timestamp() -> None:
    assert redact(f"2023-03-13T10:00:00Z {NIK}") == "2023-03-13T10:00:00Z [NIK]"


def test_redact_value_recurses_into_dicts_lists_and_tuples() -> None:
    value = {"person": {"nik": NIK, "aliases": [f"x {NIK}", ("a", NIK)]}, NIK: "key"}

    assert redact_value(value) == {
        "person": {"nik": "[NIK]", "aliases": ["x [NIK]", ("a", "[NIK]")]},
        "[NIK]": "key",
    }


def test_redact_value_masks_a_nik_stored_as_an_integer() -> None:
    assert redact_value([int(NIK), 42, True, None, 1.5]) == ["[NIK]", 42, True, None, 1.5]
