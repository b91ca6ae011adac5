import random
import re
from datetime import date

import pytest

from services.identity.nik import NikCheck, check_nik, mask_nik, normalise_nik

TODAY = date(2026, 11, 27)


def make_nik(
    region: str = "630706",
    day: int = 5,
    month: int = 3,
    yy: int = 90,
    serial: str = "0001",
    *,
    female: bool = False,
) -> str:
    encoded_day = day + 40 if female else day
    return f"{region}{encoded_day:02d}{month:02d}{yy:02d}{serial}"


def check(nik: str | None, **kwargs: object) -> NikCheck:
    return check_nik(nik, today=TODAY, **kwargs)  # type: ignore[arg-type]


# --- a clean number -------------------------------------------------------------------------


def test_a_barabai_number_for_a_man_born_5_march_1990_is_valid_and_parsed() -> None:
    result = check(make_nik(), birth_date=date(1990, 3, 5), sex="L")

    assert result.valid
    assert result.reasons == ()
    assert (result.province_code, result.regency_code, result.district_code) == (
        "63",
        "63.07",
        "63.07.06",
    )
    assert result.province_name == "Kalimantan Selatan"
    assert result.regency_name == "Kabupaten Hulu Sungai Tengah"
    assert result.district_name == "Barabai"
    assert result.birth_date == date(1990, 3, 5)
    assert result.sex == "L"
    assert result.serial == "0001"


def test_a_woman_born_on_the_5th_has_day_45_and_is_read_as_female() -> None:
    result = check(make_nik(female=True), birth_date=date(1990, 3, 5), sex="P")

    assert result.valid
    assert result.sex == "P"
    assert result.birth_date == date(1990, 3, 5)


@pytest.mark.parametrize(
    ("district", "name"),
    [
        ("01", "Haruyan"),
        ("02", "Batu Benawa"),
        ("03", "Labuan Amas Selatan"),
        ("04", "Labuan Amas Utara"),
        ("05", "Pandawan"),
        ("06", "Barabai"),
        ("07", "Batang Alai Selatan"),
        ("08", "Batang Alai Utara"),
        ("09", "Hantakan"),
        ("10", "Batang Alai Timur"),
        ("11", "Limpasu"),
    ],
)
def test_every_hulu_sungai_tengah_district_is_recognised(district: str, name: str) -> None:
    result = check(make_nik(region=f"6307{district}"))

    assert result.valid
    assert result.reasons == ()
    assert result.district_name == name


def test_the_repr_of_a_check_does_not_show_the_parts_that_rebuild_the_number() -> None:
    nik = make_nik(female=True, serial="0427")

    text = repr(check(nik))

    assert "0427" not in text
    assert "450390" not in text
    assert "63.07.06" not in text


# --- missing and shape ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, "", "   ", " .-. "])
def test_no_number_is_reported_as_missing(raw: str | None) -> None:
    result = check(raw)

    assert not result.valid
    assert result.codes == ("missing",)


def test_spaces_dots_and_hyphens_are_ignored() -> None:
    assert check("63.07.06 450390-0001").valid
    assert normalise_nik(" 6307.06-45 0390 0001 ") == "6307064503900001"


@pytest.mark.parametrize("raw", ["630706450390001", "63070645039000011", "630706450390OOO1"])
def test_anything_but_16_digits_is_refused(raw: str) -> None:
    result = check(raw)

    assert not result.valid
    assert result.codes == ("not_16_digits",)
    assert normalise_nik(raw) is None


def test_letters_get_their_own_explanation() -> None:
    assert "other than the digits" in check("630706450390000A").reasons[0].message
    assert "has 15 digits" in check("630706450390001").reasons[0].message


def test_non_ascii_digits_are_refused() -> None:
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in make_nik())

    assert check(arabic_indic).codes == ("not_16_digits",)
    assert normalise_nik(arabic_indic) is None


# --- region ---------------------------------------------------------------------------------


def test_province_99_is_unknown() -> None:
    result = check(make_nik(region="990706"))

    assert not result.valid
    assert result.codes == ("unknown_province",)
    assert result.province_name is None


def test_a_known_province_is_named() -> None:
    assert check(make_nik(region="310101")).province_name == "Daerah Khusus Ibukota Jakarta"


@pytest.mark.parametrize("region", ["630006", "630700"])
def test_regency_or_district_00_is_a_bad_region_shape(region: str) -> None:
    result = check(make_nik(region=region))

    assert not result.valid
    assert result.codes == ("bad_region_shape",)


def test_an_unlisted_regency_in_a_known_province_is_only_a_warning() -> None:
    result = check(make_nik(region="635006"))

    assert result.valid
    assert result.codes == ("unknown_region",)
    assert result.warnings == result.reasons
    assert result.errors == ()


def test_an_unlisted_district_in_a_known_regency_is_only_a_warning() -> None:
    result = check(make_nik(region="630712"))

    assert result.valid
    assert result.codes == ("unknown_region",)
    assert result.regency_name == "Kabupaten Hulu Sungai Tengah"


def test_an_unknown_province_is_not_also_reported_as_an_unknown_region() -> None:
    assert "unknown_region" not in check(make_nik(region="995006")).codes


# --- birth date -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "month", "female"),
    [(1, 1, False), (31, 12, False), (1, 1, True), (31, 1, True), (30, 4, False)],
)
def test_real_dates_are_accepted_for_men_and_women(day: int, month: int, female: bool) -> None:
    assert check(make_nik(day=day, month=month, female=female)).valid


@pytest.mark.parametrize(
    "date_part",
    ["000390", "320390", "400390", "720390", "051390", "050090", "310490", "710490"],
)
def test_impossible_dates_are_refused(date_part: str) -> None:
    result = check(f"630706{date_part}0001")

    assert not result.valid
    assert "impossible_date" in result.codes
    assert result.birth_date is None


def test_29_february_is_valid_in_a_leap_year() -> None:
    result = check(make_nik(day=29, month=2, yy=96))

    assert result.valid
    assert result.birth_date == date(1996, 2, 29)


def test_29_february_is_impossible_outside_a_leap_year() -> None:
    assert check(make_nik(day=29, month=2, yy=97)).codes == ("impossible_date",)


def test_29_february_00_depends_on_the_century_the_recorded_birth_date_settles() -> None:
    nik = make_nik(day=29, month=2, yy=0)

    assert check(nik, birth_date=date(2000, 2, 29)).valid
    assert check(nik).birth_date == date(2000, 2, 29)
    assert "impossible_date" in check(nik, birth_date=date(1900, 3, 1)).codes


def test_the_recorded_birth_date_settles_the_century() -> None:
    born_1950 = check(make_nik(day=17, month=8, yy=50), birth_date=date(1950, 8, 17))
    born_2005 = check(make_nik(day=17, month=8, yy=5), birth_date=date(2005, 8, 17))

    assert born_1950.valid
    assert born_1950.birth_date == date(1950, 8, 17)
    assert born_2005.valid
    assert born_2005.birth_date == date(2005, 8, 17)


def test_without_a_recorded_birth_date_the_latest_past_century_is_assumed() -> None:
    assert check(make_nik(yy=5)).birth_date == date(2005, 3, 5)
    assert check(make_nik(yy=50)).birth_date == date(1950, 3, 5)
    assert check(make_nik(day=1, month=12, yy=26)).birth_date == date(1926, 12, 1)
    assert check(make_nik(day=1, month=11, yy=26)).birth_date == date(2026, 11, 1)


# --- serial ---------------------------------------------------------------------------------


def test_serial_0000_is_refused() -> None:
    result = check(make_nik(serial="0000"))

    assert not result.valid
    assert result.codes == ("serial_zero",)


def test_serial_0001_and_9999_are_accepted() -> None:
    assert check(make_nik(serial="0001")).valid
    assert check(make_nik(serial="9999")).valid


# --- comparison with recorded data ----------------------------------------------------------


@pytest.mark.parametrize(
    "recorded",
    [date(1990, 3, 6), date(1990, 4, 5), date(1991, 3, 5), date(1980, 3, 5)],
)
def test_a_different_recorded_birth_date_is_a_mismatch(recorded: date) -> None:
    result = check(make_nik(), birth_date=recorded)

    assert not result.valid
    assert result.codes == ("birth_date_mismatch",)
    assert recorded.isoformat() in result.reasons[0].message


def test_a_recorded_birth_date_a_century_apart_with_the_same_two_digit_year_matches() -> None:
    assert check(make_nik(yy=90), birth_date=date(1890, 3, 5)).valid


def test_a_woman_recorded_as_a_man_is_a_sex_mismatch() -> None:
    result = check(make_nik(female=True), sex="L")

    assert not result.valid
    assert result.codes == ("sex_mismatch",)
    assert "female" in result.reasons[0].message


def test_a_man_recorded_as_a_woman_is_a_sex_mismatch() -> None:
    assert check(make_nik(), sex="P").codes == ("sex_mismatch",)


def test_a_woman_with_the_day_not_shifted_by_40_fails_both_comparisons() -> None:
    result = check(make_nik(female=False), birth_date=date(1990, 3, 5), sex="P")

    assert result.codes == ("sex_mismatch",)
    shifted_twice = check(make_nik(day=5, female=True), birth_date=date(1990, 3, 15), sex="P")
    assert shifted_twice.codes == ("birth_date_mismatch",)


def test_several_problems_are_all_reported() -> None:
    result = check(f"990000{'000090'}0000", birth_date=date(1990, 1, 1), sex="P")

    assert set(result.codes) == {
        "unknown_province",
        "bad_region_shape",
        "impossible_date",
        "serial_zero",
    }


# --- no digits in messages ------------------------------------------------------------------


def _random_nik(rng: random.Random) -> str:
    region = rng.choice(["630706", "630711", "630712", "635001", "990101", "630006", "110101"])
    day = rng.choice([rng.randint(0, 80), rng.randint(1, 28), rng.randint(41, 68)])
    month = rng.randint(0, 13)
    serial = rng.choice([0, rng.randint(1, 9999)])
    return f"{region}{day:02d}{month:02d}{rng.randint(0, 99):02d}{serial:04d}"


def test_no_reason_message_contains_a_run_of_six_or_more_digits_from_the_number() -> None:
    rng = random.Random(20230313)
    messages_by_code: dict[str, set[str]] = {}
    for _ in range(3000):
        nik = _random_nik(rng)
        recorded = date(rng.randint(1940, 2010), rng.randint(1, 12), rng.randint(1, 28))
        result = check(nik, birth_date=recorded, sex=rng.choice(["L", "P"]))
        runs = {nik[i : i + 6] for i in range(len(nik) - 5)}
        for reason in result.reasons:
            assert not any(run in reason.message for run in runs), reason.code
            assert re.search(r"\d{6,}", reason.message) is None, reason.code
            without_recorded = reason.message.replace(recorded.isoformat(), "<recorded>")
            messages_by_code.setdefault(reason.code, set()).add(without_recorded)
    # Stronger than the digit check: apart from the recorded date, a message is fixed text.
    assert {code for code, texts in messages_by_code.items() if len(texts) > 1} <= {"sex_mismatch"}
    assert len(messages_by_code.get("sex_mismatch", set())) <= 2
    assert set(messages_by_code) >= {
        "unknown_province",
        "bad_region_shape",
        "unknown_region",
        "impossible_date",
        "serial_zero",
        "birth_date_mismatch",
        "sex_mismatch",
    }


# --- masking --------------------------------------------------------------------------------


def test_masking_shows_province_and_regency_only() -> None:
    assert mask_nik("6307064503900001") == "63.07.**.******.****"
    assert mask_nik("63.07.06 450390-0001") == "63.07.**.******.****"


@pytest.mark.parametrize("raw", [None, "", "63070645039000", "630706450390000A"])
def test_masking_something_that_is_not_a_nik_hides_everything(raw: str | None) -> None:
    assert mask_nik(raw) == "**.**.**.******.****"
