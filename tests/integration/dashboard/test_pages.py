"""The dashboard's pages, built from real events on real Redis, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, timedelta

import redis
from fastapi.testclient import TestClient

from services.dashboard.sessions import COOKIE_NAME
from shared.messaging.streams import ENTRY_FIELD
from tests.integration.dashboard.support import (
    AGREEMENTS_STREAM,
    GROUP,
    IDENTITY_STREAM,
    OTHER_FACILITY,
    OTHER_PARTNER,
    RAW_KEYS,
    TODAY,
    World,
    add_dead_letter,
    auth,
)


def status_count(html: str, status: str) -> int:
    found = re.search(rf'data-status="{status}">\s*<span class="count">([\d.]+)</span>', html)
    assert found, f"no tile for {status}"
    return int(found.group(1).replace(".", ""))


def bar_value(html: str, item_id: str) -> int:
    found = re.search(
        rf'data-item="{item_id}".*?<progress class="realisation[^"]*" max="100" value="(\d+)"',
        html,
        re.DOTALL,
    )
    assert found, f"no progress bar for {item_id}"
    return int(found.group(1))


def section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_staff_see_agreements_by_status_and_those_ending_within_90_days(
    client: TestClient, world: World
) -> None:
    world.partner("dinkes", "Dinas Kesehatan Kab. HST")
    soon = world.agreement(end=TODAY + timedelta(days=60), title="Penyuluhan kesehatan")
    world.agreement(end=TODAY + timedelta(days=91))
    late = world.agreement(partner=OTHER_PARTNER, end=TODAY + timedelta(days=10))
    world.set_status(late, "expiring")
    world.agreement(status="draft")
    gone = world.agreement(end=TODAY - timedelta(days=1))
    world.set_status(gone, "expired")
    world.session_held(soon)
    world.session_held(soon)
    world.settle()

    html = client.get("/agreements", headers=auth("staff")).text

    assert status_count(html, "active") == 2
    assert status_count(html, "expiring") == 1
    assert status_count(html, "draft") == 1
    assert status_count(html, "expired") == 1
    expiring = section(html, "expiring")
    assert f'data-agreement="{soon}"' in expiring
    assert f'data-agreement="{late}"' in expiring
    assert expiring.count("data-agreement=") == 2
    assert "Dinas Kesehatan Kab. HST" in html
    assert "Berakhir dalam 90 hari" in html
    row = re.search(rf'data-agreement="{soon}".*?</tr>', expiring, re.DOTALL)
    assert row and re.search(
        r'data-label="Sisa hari">60</td>\s*<td class="num" data-label="Kegiatan terlaksana">2</td>',
        row.group(0),
    )


def test_a_partner_login_sees_only_its_own_agreements_and_plans(
    client: TestClient, world: World
) -> None:
    own = world.agreement()
    other = world.agreement(partner=OTHER_PARTNER)
    own_item = world.item(own)
    other_item = world.item(other)
    world.settle()

    for path in ("/agreements", "/action-plans"):
        html = client.get(path, headers=auth("partner-own")).text
        assert own in html
        assert other not in html
        assert other_item not in html
        assert OTHER_PARTNER not in html
    assert own_item in client.get("/action-plans", headers=auth("partner-own")).text
    staff = client.get("/action-plans", headers=auth("staff")).text
    assert own_item in staff and other_item in staff


def test_a_partner_may_not_open_the_nik_or_operations_pages(client: TestClient) -> None:
    for path in ("/nik", "/operations"):
        response = client.get(path, headers=auth("partner-own"))
        assert response.status_code == 403
        assert "tidak tersedia" in response.text
    assert client.get("/nik", headers=auth("registration")).status_code == 200
    assert client.get("/operations", headers=auth("registration")).status_code == 403
    assert client.get("/operations", headers=auth("auditor")).status_code == 200


def test_realisation_updates_move_the_progress_bar_and_an_older_one_does_not_undo_them(
    client: TestClient, world: World
) -> None:
    agreement = world.agreement()
    item = world.item(agreement, target=12)
    world.realise(item, 3)
    world.realise(item, 9)
    world.settle()
    assert bar_value(client.get("/action-plans", headers=auth("staff")).text, item) == 75

    world.realise(item, 1, sequence=2)  # a late, older state of the same agreement
    world.realise(item, 15)
    world.settle()

    html = client.get("/action-plans", headers=auth("staff")).text
    assert bar_value(html, item) == 100
    assert "15 dari 12 kegiatan" in html
    assert "melampaui target" in html


def test_a_redelivered_event_changes_nothing(
    client: TestClient, world: World, streams: redis.Redis
) -> None:
    agreement = world.agreement()
    item = world.item(agreement, target=10)
    body = world.realise(item, 4)
    world.realise(item, 6)
    world.settle()

    streams.xadd(AGREEMENTS_STREAM, {ENTRY_FIELD: body})  # the same event id, once more
    world.settle()

    assert bar_value(client.get("/action-plans", headers=auth("staff")).text, item) == 60


def test_nik_status_is_counted_per_facility_for_people_in_custody_only(
    client: TestClient, world: World
) -> None:
    first = world.admit("Ahmad Fauzi")
    world.admit("Budi Santoso")
    world.nik(first, "validated")
    released = world.admit("Citra Dewi", nik_status="validated")
    world.release(released, date(2024, 5, 1))
    world.admit("Dedi Kurniawan", nik_status="not_found", facility=OTHER_FACILITY)
    world.settle()

    html = client.get("/nik", headers=auth("staff")).text

    def cell(facility: str, status: str) -> int:
        row = re.search(rf'data-facility="{facility}">.*?</tr>', html, re.DOTALL)
        assert row, facility
        found = re.search(rf'data-status="{status}">(\d+)<', row.group(0))
        assert found, status
        return int(found.group(1))

    assert cell("rutan-barabai", "validated") == 1
    assert cell("rutan-barabai", "unverified") == 1
    assert cell(OTHER_FACILITY, "not_found") == 1
    assert "Fauzi" not in html and "Santoso" not in html  # counts only, never a person
    assert "Tervalidasi" in html


def test_dead_letters_and_the_lag_of_every_group_are_shown(
    client: TestClient, world: World, streams: redis.Redis
) -> None:
    world.agreement()
    world.settle()
    streams.xgroup_create(IDENTITY_STREAM, "slow-reader", id="0", mkstream=True)
    world.admit("Eko Prasetyo")
    world.admit("Fajar Nugroho")
    world.settle()
    for _ in range(3):
        add_dead_letter(
            streams,
            stream=IDENTITY_STREAM,
            group="programs",
            reason_code="invalid_payload",
            reason="inmate.nik_status: value is not a valid status",
        )

    html = client.get("/operations", headers=auth("staff")).text

    assert "Jumlah pesan gagal: 3" in html
    assert html.count("<code>invalid_payload</code>") == 3
    slow = re.search(r'data-group="slow-reader">.*?data-field="lag">(\d+)<', html, re.DOTALL)
    assert slow and int(slow.group(1)) == 2
    own = re.search(
        rf'data-stream="{IDENTITY_STREAM}" data-group="{GROUP}">.*?data-field="lag">(\d+)<',
        html,
        re.DOTALL,
    )
    assert own and int(own.group(1)) == 0


def test_a_login_sets_an_httponly_cookie_that_opens_the_pages(client: TestClient) -> None:
    assert client.get("/agreements", follow_redirects=False).headers["location"] == "/login"

    refused = client.post("/login", data={"api_key": "guess"}, follow_redirects=False)
    assert refused.status_code == 401
    assert "Kunci API tidak dikenal" in refused.text

    response = client.post(
        "/login", data={"api_key": RAW_KEYS["partner-own"]}, follow_redirects=False
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie
    assert RAW_KEYS["partner-own"] not in cookie
    page = client.get("/agreements")
    assert page.status_code == 200
    assert "mitra dinkes" in page.text

    client.post("/logout")
    assert client.get("/agreements", follow_redirects=False).status_code == 303


def test_a_wrong_key_in_the_header_is_refused(client: TestClient) -> None:
    assert client.get("/agreements", headers={"X-API-Key": "guess"}).status_code == 401


def test_labels_are_in_bahasa_indonesia_unless_english_is_asked_for(
    client: TestClient, world: World
) -> None:
    world.agreement()
    world.settle()

    default = client.get("/agreements", headers=auth("staff")).text
    assert 'lang="id"' in default and "Perjanjian menurut status" in default
    assert "Aktif" in default

    english = client.get("/agreements?lang=en", headers=auth("staff"))
    assert "Agreements by status" in english.text and 'lang="en"' in english.text
    # the choice is remembered for the next pages
    assert "Agreements by status" in client.get("/agreements", headers=auth("staff")).text
