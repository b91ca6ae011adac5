"""Matching a roster against the stand-in: every verdict, name variants, and refusals."""

from __future__ import annotations

from collections import Counter
from datetime import date

import redis
from fastapi.testclient import TestClient

from services.civil_registry.population import Person, Population
from tests.integration.identity_matching.roster import (
    admit,
    audit_rows,
    finished,
    inmate,
    items,
    start_job,
    with_legal_basis,
)
from tests.integration.identity_matching.support import (
    PARTNER,
    REGISTRATION,
    STAFF,
    StandIn,
    inmate_body,
    unknown_nik,
)


def muhammads(population: Population, n: int) -> list[Person]:
    found = []
    for i in range(100, len(population)):
        person = population.person(i)
        if person.name.startswith("MUHAMMAD ") and person.alive:
            found.append(person)
            if len(found) == n:
                return found
    raise AssertionError("too few people named MUHAMMAD in the population")


def test_each_person_gets_the_registrys_verdict_and_invalid_niks_are_never_sent(
    client: TestClient, streams: redis.Redis, registry: StandIn, population: Population
) -> None:
    agreement_id = with_legal_basis(client, streams)
    alive = [p for p in (population.person(i) for i in range(40)) if p.alive]
    exact = [admit(client, inmate_body(p, f"A-{i}")) for i, p in enumerate(alive[:6])]
    other_mother = admit(client, inmate_body(alive[6], "B-1", mother_name="SALMAH BINTI ALI"))
    other_place = admit(client, inmate_body(alive[7], "B-2", birth_place="MARTAPURA KOTA"))
    not_known = admit(client, inmate_body(alive[8], "C-1", nik=unknown_nik(alive[8])))
    wrong_date = alive[9].birth_date.replace(year=alive[9].birth_date.year - 1)
    invalid = admit(client, inmate_body(alive[9], "D-1", birth_date=wrong_date.isoformat()))
    no_nik = admit(client, {**inmate_body(alive[10], "E-1"), "nik": None})
    m1, m2, m3 = muhammads(population, 3)
    variants = [
        admit(client, inmate_body(m1, "F-1", name=m1.name.replace("MUHAMMAD ", "M. ", 1))),
        admit(client, inmate_body(m2, "F-2", name=m2.name.replace("MUHAMMAD ", "Muh. ", 1))),
        admit(client, inmate_body(m3, "F-3", name=m3.name.replace("MUHAMMAD ", "MOCHAMAD ", 1))),
    ]
    everyone = [*exact, other_mother, other_place, not_known, invalid, no_nik, *variants]

    job_id = start_job(client, "pemadanan NIK WBP baru", everyone)
    done = finished(client, job_id)

    assert done["status"] == "completed"
    assert (done["total"], done["done"], done["pending"], done["sent"]) == (14, 14, 0, 0)
    assert done["outcomes"] == {
        "matched": 9,
        "partial": 2,
        "not_found": 1,
        "invalid": 1,
        "skipped": 1,
    }
    assert done["agreement_id"] == agreement_id
    for person_id in [*exact, *variants]:
        assert inmate(client, person_id)["nik_status"] == "matched"
    assert inmate(client, other_mother)["nik_status"] == "partial"
    assert inmate(client, other_mother)["last_match"]["mismatched_fields"] == ["mother_name"]
    assert inmate(client, other_place)["last_match"]["mismatched_fields"] == ["birth_place"]
    assert inmate(client, not_known)["nik_status"] == "not_found"
    assert inmate(client, invalid)["nik_status"] == "invalid"
    by_person = {item["person_id"]: item["outcome"] for item in items(client, job_id)}
    assert by_person[invalid] == "invalid"
    assert by_person[no_nik] == "skipped"
    usage = registry.usage()
    assert usage["items"] == {"found": 11, "not_found": 1}  # 12 sent: not the invalid one
    audits = audit_rows(client, "matching_call")
    assert sum(row["items"] for row in audits) == 12
    assert {row["agreement_id"] for row in audits} == {agreement_id}
    assert {row["purpose"] for row in audits} == {"pemadanan NIK WBP baru"}


def test_a_job_without_a_list_takes_everyone_in_custody_whose_nik_awaits_matching(
    client: TestClient, streams: redis.Redis, registry: StandIn, population: Population
) -> None:
    with_legal_basis(client, streams)
    people = [population.person(i) for i in range(200, 225)]
    ids = [admit(client, inmate_body(p, f"R-{i}")) for i, p in enumerate(people)]
    released = ids[0]
    assert client.post(
        f"/inmates/{released}/release", json={"on": "2024-05-01"}, headers=STAFF
    ).is_success

    job_id = start_job(client, "pemadanan seluruh WBP")
    done = finished(client, job_id)

    assert done["total"] == 24
    assert sum(done["outcomes"].values()) == 24
    assert {item["person_id"] for item in items(client, job_id)} == set(ids[1:])
    again = finished(client, start_job(client, "pemadanan ulang"))
    assert again["total"] == 24  # matched and not-found people may be matched again
    assert registry.usage()["requests"]["async_search"] == 6  # 3 batches of <= 10, twice


def test_matching_is_refused_without_an_agreement_in_force_covering_it_and_nothing_is_sent(
    client: TestClient, streams: redis.Redis, registry: StandIn, population: Population
) -> None:
    person_id = admit(client, inmate_body(population.person(0), "A-1"))
    body = {"purpose": "pemadanan", "person_ids": [person_id]}

    refused = client.post("/matching/jobs", json=body, headers=REGISTRATION)

    assert refused.status_code == 409
    assert refused.json()["title"] == "No legal basis"
    assert refused.json()["code"] == "no_legal_basis"
    with_legal_basis(client, streams, kinds=("ktp_recording",))  # covers something else
    assert client.post("/matching/jobs", json=body, headers=REGISTRATION).status_code == 409
    with_legal_basis(client, streams, start=date(2020, 1, 1), end=date(2022, 12, 31))  # lapsed
    assert client.post("/matching/jobs", json=body, headers=REGISTRATION).status_code == 409
    assert client.get("/matching/jobs", headers=STAFF).json()["count"] == 0
    assert registry.usage()["requests"] == {}
    assert audit_rows(client, "matching_call") == []


def test_only_the_registration_role_starts_jobs_and_partners_see_none(
    client: TestClient, streams: redis.Redis, registry: StandIn
) -> None:
    with_legal_basis(client, streams)
    body = {"purpose": "pemadanan"}

    assert client.post("/matching/jobs", json=body, headers=STAFF).status_code == 403
    assert client.post("/matching/jobs", json=body, headers=PARTNER).status_code == 403
    assert client.post("/matching/jobs", json=body).status_code == 401
    job_id = start_job(client, "pemadanan")
    assert client.get(f"/matching/jobs/{job_id}", headers=PARTNER).status_code == 403
    listed = client.get("/matching/jobs", headers=STAFF).json()
    assert [job["job_id"] for job in listed["data"]] == [job_id]
    assert Counter(job["status"] for job in listed["data"]).total() == 1
