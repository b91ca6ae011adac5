import pytest

from services.identity.names import canonical_name, name_similarity, same_person_name


@pytest.mark.parametrize(
    "raw",
    [
        "Muhammad Rizky",
        "M. Rizky",
        "M Rizky",
        "M.Rizky",
        "Muh Rizky",
        "MUH. RIZKY",
        "Moh. Rizky",
        "MOCH RIZKY",
        "MOCHAMAD RIZKY",
        "Mochammad Rizky",
        "Mohamad Rizky",
        "Mohammad Rizky",
        "Mohammed Rizky",
        "Muhamad Rizky",
        "Muhammed Rizky",
        "  muhammad   rizky  ",
    ],
)
def test_spellings_of_muhammad_share_one_canonical_name(raw: str) -> None:
    assert canonical_name(raw) == "MUHAMMAD RIZKY"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Abd. Rahman", "ABDUL RAHMAN"),
        ("Abd Rahman", "ABDUL RAHMAN"),
        ("Sitti Aminah", "SITI AMINAH"),
        ("Noor Hasanah", "NUR HASANAH"),
        ("Nurul Hidayah", "NURUL HIDAYAH"),
    ],
)
def test_other_common_variants_are_mapped(raw: str, canonical: str) -> None:
    assert canonical_name(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("H. Ahmad Fauzi", "AHMAD FAUZI"),
        ("Hj. Siti Aminah", "SITI AMINAH"),
        ("HJ SITI AMINAH", "SITI AMINAH"),
        ("Drs. H. M. Yusuf", "MUHAMMAD YUSUF"),
        ("Ir. Budi Santoso", "BUDI SANTOSO"),
        ("Ahmad Fauzi, S.Pd.", "AHMAD FAUZI"),
        ("Ahmad Fauzi S.Pd., M.Pd.", "AHMAD FAUZI"),
        ("Rina Marlina, S.E.", "RINA MARLINA"),
        ("Rahmat Hidayat, S.H., M.H.", "RAHMAT HIDAYAT"),
        ("DRS. RAHMAT HIDAYAT SH", "RAHMAT HIDAYAT"),
        ("Dr. Ir. H. Abd. Gafur, S.Pd.I", "ABDUL GAFUR"),
    ],
)
def test_honorifics_and_academic_titles_are_dropped(raw: str, canonical: str) -> None:
    assert canonical_name(raw) == canonical


def test_a_name_made_only_of_a_title_like_word_keeps_its_last_part() -> None:
    assert canonical_name("H.") == "H"


def test_bin_and_binti_are_kept() -> None:
    assert canonical_name("Ahmad bin Abdullah") == "AHMAD BIN ABDULLAH"
    assert canonical_name("Siti Aisyah binti Muh. Yusuf") == "SITI AISYAH BINTI MUHAMMAD YUSUF"


def test_apostrophes_are_dropped_and_hyphens_separate_parts() -> None:
    assert canonical_name("Ma'ruf Amin") == canonical_name("Ma\u2019ruf Amin") == "MARUF AMIN"
    assert canonical_name("Nur-Aini") == "NUR AINI"


def test_accents_are_folded_to_plain_letters() -> None:
    assert canonical_name("Andr\u00e9 Wijaya") == "ANDRE WIJAYA"


def test_an_empty_name_is_empty() -> None:
    assert canonical_name("  , . ") == ""


def test_variants_of_one_name_are_fully_similar() -> None:
    assert name_similarity("Muhammad Rizky", "M. Rizky") == 100.0
    assert name_similarity("MOCHAMAD RIZKY", "Muh Rizky") == 100.0
    assert name_similarity("Hj. Siti Aminah, S.Pd.", "SITTI AMINAH") == 100.0


def test_a_typo_is_still_highly_similar() -> None:
    assert name_similarity("Siti Nurhalizah", "Siti Nurhaliza") > 95.0


def test_the_order_of_name_parts_does_not_matter() -> None:
    assert name_similarity("Fauzi Ahmad", "Ahmad Fauzi") == 100.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Budi Santoso", "Agus Salim"),
        ("Siti Aminah", "Siti Aisyah"),
        ("Muhammad Rizky", "Muhammad Rizal"),
        ("Siti", "Siti Aminah"),
    ],
)
def test_different_people_score_below_the_default_threshold(a: str, b: str) -> None:
    assert name_similarity(a, b) < 92.0
    assert not same_person_name(a, b)


def test_different_people_with_nothing_in_common_score_low() -> None:
    assert name_similarity("Budi Santoso", "Agus Salim") < 50.0


def test_an_empty_name_is_similar_to_nothing() -> None:
    assert name_similarity("", "") == 0.0
    assert name_similarity("Siti", "") == 0.0
    assert not same_person_name("", "")


def test_same_person_name_accepts_a_typo_at_the_default_threshold() -> None:
    assert same_person_name("Siti Nurhalizah", "SITI NURHALIZA")
    assert same_person_name("Moch. Rizky", "Muhammad Rizky")


def test_same_person_name_follows_the_threshold_given() -> None:
    score = name_similarity("Muhammad Rizky", "Muhammad Rizal")

    assert same_person_name("Muhammad Rizky", "Muhammad Rizal", threshold=score)
    assert not same_person_name("Muhammad Rizky", "Muhammad Rizal", threshold=score + 0.01)
    assert same_person_name("Budi", "Agus", threshold=0.0)


@pytest.mark.parametrize("threshold", [-1.0, 100.5])
def test_a_threshold_outside_0_to_100_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        same_person_name("Budi", "Budi", threshold=threshold)
