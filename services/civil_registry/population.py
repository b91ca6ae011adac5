"""A deterministic synthetic population for the civil registry stand-in.

Pure and importable by tests and benchmarks: ``Population(size, seed)`` yields the same
people for the same seed (and the same pinned Faker version). Name and place pools are
drawn from Faker's ``id_ID`` locale once per population; each person is then combined
from those pools with one ``random.Random(seed)`` stream, in index order, so
``person(i)`` only generates people ``0..i`` and ``build()`` generates everyone.

NIK layout: ``PP KK CC DDMMYY SSSS``; women add 40 to the day; the
serial counts up from 0001 per (region, birth date).
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from faker import Faker

__all__ = [
    "BIRTH_FIRST",
    "BIRTH_LAST",
    "REGIONS",
    "Person",
    "Population",
    "Region",
]

Sex = Literal["L", "P"]
_Random = Callable[[], float]

BIRTH_FIRST = date(1950, 1, 1)
BIRTH_LAST = date(2007, 12, 31)
DEATH_RATE = 0.01
LOCAL_BIRTH_PLACE_SHARE = 0.7
MAX_SERIAL = 9999


@dataclass(frozen=True, slots=True)
class Person:
    nik: str
    name: str
    sex: Sex
    birth_place: str
    birth_date: date
    mother_name: str
    alive: bool


@dataclass(frozen=True, slots=True)
class Region:
    """A district (kecamatan) of first registration: its 6-digit code and local places."""

    code: str
    weight: float
    places: tuple[str, ...]


def _hst(district: str, name: str, weight: float) -> Region:
    return Region(f"6307{district}", weight, (name, "BARABAI", "HULU SUNGAI TENGAH"))


# Hulu Sungai Tengah (63.07) carries ~55% of the population, the rest of South Kalimantan
# ~35%, a few other provinces ~10%. Codes beyond 63.07 are plausible, not authoritative.
REGIONS: tuple[Region, ...] = (
    _hst("01", "HARUYAN", 5.0),
    _hst("02", "BATU BENAWA", 5.0),
    _hst("03", "LABUAN AMAS SELATAN", 5.0),
    _hst("04", "LABUAN AMAS UTARA", 4.0),
    _hst("05", "PANDAWAN", 6.0),
    _hst("06", "BARABAI", 10.0),
    _hst("07", "BATANG ALAI SELATAN", 5.0),
    _hst("08", "BATANG ALAI UTARA", 4.0),
    _hst("09", "HANTAKAN", 3.0),
    _hst("10", "BATANG ALAI TIMUR", 3.0),
    _hst("11", "LIMPASU", 3.0),
    Region("630101", 2.0, ("PELAIHARI", "TANAH LAUT")),
    Region("630201", 2.0, ("KOTABARU", "PULAU LAUT")),
    Region("630301", 2.5, ("MARTAPURA", "BANJAR")),
    Region("630302", 1.5, ("GAMBUT", "MARTAPURA")),
    Region("630401", 2.0, ("MARABAHAN", "BARITO KUALA")),
    Region("630501", 2.5, ("RANTAU", "TAPIN")),
    Region("630601", 3.5, ("KANDANGAN", "HULU SUNGAI SELATAN")),
    Region("630602", 2.0, ("ANGKINANG", "KANDANGAN")),
    Region("630801", 3.5, ("AMUNTAI", "HULU SUNGAI UTARA")),
    Region("630901", 2.5, ("TANJUNG", "TABALONG")),
    Region("631001", 1.5, ("BATULICIN", "TANAH BUMBU")),
    Region("631101", 2.5, ("PARINGIN", "BALANGAN")),
    Region("637101", 4.0, ("BANJARMASIN",)),
    Region("637102", 3.0, ("BANJARMASIN",)),
    Region("637201", 2.0, ("BANJARBARU",)),
    Region("627101", 2.0, ("PALANGKA RAYA",)),
    Region("647101", 2.0, ("BALIKPAPAN",)),
    Region("647201", 1.5, ("SAMARINDA",)),
    Region("357801", 1.5, ("SURABAYA",)),
    Region("337401", 1.0, ("SEMARANG",)),
    Region("317101", 1.0, ("JAKARTA PUSAT", "JAKARTA")),
    Region("320101", 1.0, ("BOGOR",)),
)

# Names common in the Banjar region, added to Faker's (largely Javanese) id_ID pools.
_MALE_GIVEN = (
    "RIZKY", "FAUZI", "HIDAYAT", "RAHMAN", "ANWAR", "ARIFIN", "SYAHRANI", "FADILLAH",
    "RAMADHAN", "HIDAYATULLAH", "FIRDAUS", "MAULANA", "ZAINAL", "IRFAN", "JUMRI", "ASRANI",
    "NORDIN", "SAPRIANSYAH", "HERMANSYAH", "GUSTI", "ILMI", "AKBAR", "ALIF", "SYARIF",
)  # fmt: skip
_FEMALE_GIVEN = (
    "AMINAH", "HASANAH", "KHADIJAH", "FATIMAH", "RAHMAH", "JANNAH", "ZAHRA", "MAISARAH",
    "RUSMINI", "NORHAYATI", "SALMAH", "RABIATUL", "HALIMAH", "MARYAM", "AISYAH", "ZUBAIDAH",
    "NORMALASARI", "MAULIDA", "NAFISAH", "SAUDAH",
)  # fmt: skip
_POOL_DRAWS = 4000


@dataclass(frozen=True, slots=True)
class _Pools:
    male_given: tuple[str, ...]
    female_given: tuple[str, ...]
    male_family: tuple[str, ...]
    female_family: tuple[str, ...]
    places: tuple[str, ...]


def _unique_upper(values: Iterator[str], extra: Sequence[str] = ()) -> tuple[str, ...]:
    cleaned = (value.upper().replace("KOTA ADMINISTRASI ", "").strip() for value in values)
    return tuple(dict.fromkeys(itertools.chain(cleaned, extra)))


def _pools(seed: int) -> _Pools:
    fake = Faker("id_ID")
    fake.seed_instance(seed)
    draws = range(_POOL_DRAWS)
    return _Pools(
        male_given=_unique_upper((fake.first_name_male() for _ in draws), _MALE_GIVEN),
        female_given=_unique_upper((fake.first_name_female() for _ in draws), _FEMALE_GIVEN),
        male_family=_unique_upper(fake.last_name_male() for _ in draws),
        female_family=_unique_upper(fake.last_name_female() for _ in draws),
        places=_unique_upper(fake.city() for _ in draws),
    )


class Population:
    """``size`` synthetic people, the same for the same ``seed``."""

    def __init__(self, size: int, seed: int = 2023) -> None:
        if size < 0:
            raise ValueError("size must not be negative")
        self.size = size
        self.seed = seed
        self._pools = _pools(seed)
        self._rng = random.Random(seed)
        self._people: list[Person] = []
        self._serials: dict[int, int] = {}
        n_days = (BIRTH_LAST - BIRTH_FIRST).days + 1
        self._dates = tuple(BIRTH_FIRST + timedelta(days=d) for d in range(n_days))
        self._ddmmyy = tuple(
            (f"{d.day:02d}{d.month:02d}{d.year % 100:02d}", f"{d.day + 40:02d}{d.month:02d}")
            for d in self._dates
        )
        total = sum(region.weight for region in REGIONS)
        self._region_cdf = tuple(itertools.accumulate(r.weight / total for r in REGIONS))

    def __len__(self) -> int:
        return self.size

    def person(self, i: int) -> Person:
        """The ``i``-th person (0-based); generates people up to ``i`` on first use."""
        if not 0 <= i < self.size:
            raise IndexError(f"person index {i} outside 0..{self.size - 1}")
        if i >= len(self._people):
            self._generate(i + 1)
        return self._people[i]

    def people(self) -> Sequence[Person]:
        """Every person, in index order."""
        self._generate(self.size)
        return self._people

    def build(self) -> dict[str, Person]:
        """Every person keyed by NIK (a new dict on each call; the people are shared)."""
        return {person.nik: person for person in self.people()}

    def _generate(self, upto: int) -> None:
        people = self._people
        if len(people) >= upto:
            return
        rnd = self._rng.random
        pools = self._pools
        serials = self._serials
        dates, ddmmyy = self._dates, self._ddmmyy
        n_days = len(dates)
        cdf, regions = self._region_cdf, REGIONS
        n_regions = len(regions)
        places = pools.places
        n_places = len(places)
        last_region = n_regions - 1
        for _ in range(upto - len(people)):
            female = rnd() < 0.5
            region_index = min(bisect.bisect_right(cdf, rnd()), last_region)
            region = regions[region_index]
            while True:
                day = int(rnd() * n_days)
                key = region_index * n_days + day
                serial = serials.get(key, 0) + 1
                if serial <= MAX_SERIAL:
                    break
            serials[key] = serial
            day_code, female_day = ddmmyy[day]
            date_code = female_day + day_code[4:] if female else day_code
            if rnd() < LOCAL_BIRTH_PLACE_SHARE:
                local = region.places
                birth_place = local[int(rnd() * len(local))]
            else:
                birth_place = places[int(rnd() * n_places)]
            people.append(
                Person(  # positional: measurably faster than keywords at a million calls
                    f"{region.code}{date_code}{serial:04d}",
                    _female_name(rnd, pools) if female else _male_name(rnd, pools),
                    "P" if female else "L",
                    birth_place,
                    dates[day],
                    _female_name(rnd, pools),
                    rnd() >= DEATH_RATE,
                )
            )


def _pick(rnd: _Random, pool: tuple[str, ...]) -> str:
    return pool[int(rnd() * len(pool))]


def _male_name(rnd: _Random, pools: _Pools) -> str:
    u = rnd()
    given = _pick(rnd, pools.male_given)
    if u < 0.25:
        if rnd() < 0.6:
            return f"MUHAMMAD {given} {_pick(rnd, pools.male_family)}"
        return f"MUHAMMAD {given}"
    if u < 0.33:
        return f"AHMAD {given}"
    if u < 0.38:
        return f"NUR {given}"
    if u < 0.50:
        return given
    if u < 0.80:
        return f"{given} {_pick(rnd, pools.male_family)}"
    return f"{given} {_pick(rnd, pools.male_given)}"


def _female_name(rnd: _Random, pools: _Pools) -> str:
    u = rnd()
    given = _pick(rnd, pools.female_given)
    if u < 0.20:
        if rnd() < 0.4:
            return f"SITI {given} {_pick(rnd, pools.female_family)}"
        return f"SITI {given}"
    if u < 0.30:
        return f"NUR {given}"
    if u < 0.35:
        return f"NOR {given}"
    if u < 0.50:
        return given
    if u < 0.80:
        return f"{given} {_pick(rnd, pools.female_family)}"
    return f"{given} {_pick(rnd, pools.female_given)}"
