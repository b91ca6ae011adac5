"""The dashboard's login cookie: signed, time-limited, never the key itself."""

from __future__ import annotations

from services.dashboard.sessions import SessionKeeper
from shared.http.auth import ApiKeyEntry, Role, hash_api_key

STAFF_KEY = "staff-key-0123456789"
PARTNER_KEY = "partner-key-0123456789"
ENTRIES = [
    ApiKeyEntry(name="petugas", role=Role.STAFF, sha256=hash_api_key(STAFF_KEY)),
    ApiKeyEntry(
        name="dinkes", role=Role.PARTNER, partner="dinkes", sha256=hash_api_key(PARTNER_KEY)
    ),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def keeper(clock: Clock, entries: list[ApiKeyEntry] = ENTRIES) -> SessionKeeper:
    return SessionKeeper(entries, b"s" * 32, 3600, clock)


def test_a_cookie_issued_for_a_partner_key_names_that_partner() -> None:
    sessions = keeper(Clock())
    cookie = sessions.issue(PARTNER_KEY)

    assert cookie is not None
    assert PARTNER_KEY not in cookie
    principal = sessions.from_cookie(cookie)
    assert principal is not None
    assert (principal.role, principal.partner) == (Role.PARTNER, "dinkes")


def test_no_cookie_is_issued_for_an_unknown_key() -> None:
    assert keeper(Clock()).issue("guess") is None


def test_a_tampered_or_foreign_cookie_is_refused() -> None:
    clock = Clock()
    cookie = keeper(clock).issue(PARTNER_KEY)
    assert cookie is not None
    body, signature = cookie.split(".")
    staff_cookie = keeper(clock).issue(STAFF_KEY)
    assert staff_cookie is not None

    assert keeper(clock).from_cookie(staff_cookie.split(".")[0] + "." + signature) is None
    assert keeper(clock).from_cookie(body + ".AAAA") is None
    assert keeper(clock).from_cookie("nonsense") is None
    other_secret = SessionKeeper(ENTRIES, b"t" * 32, 3600, clock)
    assert other_secret.from_cookie(cookie) is None


def test_a_cookie_expires_and_ends_with_its_key() -> None:
    clock = Clock()
    cookie = keeper(clock).issue(STAFF_KEY)
    assert keeper(clock).from_cookie(cookie) is not None

    assert keeper(clock, ENTRIES[1:]).from_cookie(cookie) is None
    clock.now += 3601
    assert keeper(clock).from_cookie(cookie) is None
