"""What the identity service publishes on `sinergi.identity`, and where the NIK never goes."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

import shared.events
from services.identity.config import SERVICE
from services.identity.domain import MatchKind
from shared.observability.logging import configure_logging
from tests.integration.identity.support import (
    AHMAD_NIK,
    AUDITOR,
    FACILITY,
    IDENTITY_STREAM,
    OTHER_FACILITY,
    REGISTRATION,
    RIZKY_NIK,
    SITI_NIK,
    STAFF,
    Api,
    person,
    published_all,
    stream_entries,
    stream_events,
)

SCHEMAS = Path(shared.events.__file__).parent / "schemas"
CORRECTED_NIK = "6307061203850009"
# Every NIK this module uses, whole or malformed; none may leak anywhere.
NIKS = (AHMAD_NIK, SITI_NIK, RIZKY_NIK, CORRECTED_NIK, "630706120385001")


def schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        json.loads((SCHEMAS / f"{name}.json").read_text()),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def validate(event: dict[str, Any]) -> None:
    """The envelope and the whole event against the checked-in schema its dataschema names."""
    schema("cloudevent").validate(event)
    event_type, version = event["dataschema"].removeprefix("urn:sinergi:schema:").rsplit(":v", 1)
    assert event_type == event["type"]
    errors = [e.message for e in schema(f"{event_type}.v{version}").iter_errors(event)]
    assert errors == [], f"{event_type}: {errors}"


def test_a_persons_life_is_published_in_order_and_matches_the_checked_in_schemas(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    person_id = api.admit(person("AI-001/2024", nik="630706120385001"))
    client.post(f"/inmates/{person_id}/category", json={"category": "B.I"}, headers=STAFF)
    client.put(f"/inmates/{person_id}/nik", json={"nik": CORRECTED_NIK}, headers=REGISTRATION)
    client.post(
        f"/inmates/{person_id}/transfer",
        json={"to_facility": OTHER_FACILITY, "on": "2024-03-01"},
        headers=STAFF,
    )
    client.post(f"/inmates/{person_id}/release", json={"on": "2024-09-01"}, headers=STAFF)
    published_all(client)

    events = stream_events(streams)

    assert [e["type"] for e in events] == [
        "sinergi.inmate.admitted",
        "sinergi.inmate.status_changed",
        "sinergi.inmate.nik_status_changed",
        "sinergi.inmate.transferred",
        "sinergi.inmate.released",
    ]
    for event in events:
        validate(event)
        assert event["subject"] == person_id
        assert event["source"] == "sinergi/identity"
    assert [e["sequence"] for e in events] == sorted({e["sequence"] for e in events})
    assert [e["facility"] for e in events] == [FACILITY] * 3 + [OTHER_FACILITY] * 2
    admitted, changed, nik, transferred, released = (e["data"] for e in events)
    assert admitted["inmate"]["custody_status"] == "detainee"
    assert (changed["previous_category"], changed["inmate"]["category"]) == ("A.I", "B.I")
    assert (nik["previous_status"], nik["inmate"]["nik_status"]) == ("invalid", "unverified")
    assert (transferred["from_facility"], transferred["to_facility"]) == (
        FACILITY,
        OTHER_FACILITY,
    )
    assert released["inmate"]["custody_periods"] == [
        {"facility": FACILITY, "since": "2024-01-10", "until": "2024-03-01"},
        {"facility": OTHER_FACILITY, "since": "2024-03-01", "until": "2024-09-01"},
    ]
    assert released["released_on"] == "2024-09-01"


def test_matching_results_and_reviews_are_published_as_nik_status_changes(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    person_id = api.admit(person("AI-001/2024"))
    api.record_match(person_id, MatchKind.MATCHED)
    client.post(f"/inmates/{person_id}/review", json={"decision": "confirm"}, headers=REGISTRATION)
    published_all(client)

    events = stream_events(streams)

    assert [(e["type"], e["sequence"]) for e in events] == [
        ("sinergi.inmate.admitted", 1),
        ("sinergi.inmate.nik_status_changed", 2),
        ("sinergi.inmate.nik_status_changed", 3),
    ]
    assert [e["data"].get("previous_status") for e in events] == [None, "unverified", "matched"]
    for event in events:
        validate(event)


def test_re_admitting_a_known_person_publishes_nothing(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    api.admit(person("AI-001/2024"))
    api.admit(person("AI-001/2024"))
    published_all(client)

    assert len(stream_events(streams)) == 1


@dataclass
class PrivacyScan:
    """Everything that leaves the service other than the audited reveal: streams, logs,
    error bodies. ``assert_clean`` fails naming the place a NIK was found."""

    streams: redis.Redis
    log: io.StringIO = field(default_factory=io.StringIO)
    error_bodies: list[str] = field(default_factory=list)

    def record(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            self.error_bodies.append(response.text)
        return response

    def stream_entries(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for key in self.streams.scan_iter(_type="STREAM"):
            name = key.decode()
            found[name] = [
                json.dumps({k.decode(): v.decode() for k, v in fields.items()})
                for _, fields in stream_entries(self.streams, name)
            ]
        return found

    def assert_clean(self, niks: tuple[str, ...]) -> None:
        places = {
            **{f"stream {n}": "\n".join(e) for n, e in self.stream_entries().items()},
            "log": self.log.getvalue(),
            "error bodies": "\n".join(self.error_bodies),
        }
        leaks = [(nik, where) for nik in niks for where, text in places.items() if nik in text]
        assert leaks == []


def test_no_nik_reaches_a_stream_a_log_line_or_an_error_body(
    client: TestClient, api: Api, streams: redis.Redis
) -> None:
    scan = PrivacyScan(streams)
    configure_logging(SERVICE, "DEBUG", stream=scan.log)
    r = scan.record
    ahmad = api.admit(person("AI-001/2024"))
    api.admit(person("AI-002/2024", "Ahmad F.", nik=AHMAD_NIK))  # flagged: same NIK
    malformed = api.admit(person("AI-003/2024", "Eko", nik="630706120385001",
                                 birth_date="1979-09-09", mother_name="Nur"))  # fmt: skip
    siti = api.admit(person("AI-004/2024", "Siti", nik=SITI_NIK, sex="P",
                            birth_date="1990-07-05", mother_name="Fatimah"))  # fmt: skip
    # refusals and errors that could echo what was sent
    r(client.post("/inmates", json=person("AI-001/2024", "Other", nik=AHMAD_NIK), headers=STAFF))
    r(client.post("/inmates", json=person("AI-005/2024", birth_date=RIZKY_NIK), headers=STAFF))
    r(client.post("/inmates", json={**person("AI-006/2024"), "nik": AHMAD_NIK * 3}, headers=STAFF))
    r(client.post("/inmates", json={**person("AI-007/2024"), "ktp": SITI_NIK}, headers=STAFF))
    r(client.put(f"/inmates/{ahmad}/nik", json={"nik": RIZKY_NIK + "x" * 20},
                 headers=REGISTRATION))  # fmt: skip
    r(client.put(f"/inmates/{siti}/nik", json={"nik": SITI_NIK}, headers=STAFF))
    r(client.get(f"/inmates/{ahmad}/nik", headers=REGISTRATION))
    r(client.get(f"/inmates/{malformed}/nik", params={"purpose": "exam"}, headers=REGISTRATION))
    r(client.get(f"/inmates/{RIZKY_NIK}", headers=AUDITOR))
    r(client.get(f"/inmates/{RIZKY_NIK}/nik", params={"purpose": SITI_NIK}, headers=REGISTRATION))
    r(client.get("/inmates", params={"name": AHMAD_NIK, "limit": 0}, headers=AUDITOR))
    r(client.post(f"/inmates/{ahmad}/review", json={"decision": "reject", "reason": AHMAD_NIK},
                  headers=REGISTRATION))  # fmt: skip
    roster = (
        "register_number,name,sex,birth_place,birth_date,mother_name,nik,admission_date\n"
        f"AI-001/2024,Other,L,Barabai,1985-03-12,Siti Aminah,{AHMAD_NIK},2024-01-10\n"
        f"AI-008/2024,Budi,{SITI_NIK},Barabai,{RIZKY_NIK},Nur,{RIZKY_NIK},2024-01-10\n"
    ).encode()
    report = client.post("/roster/imports", files={"file": ("r.csv", roster)}, headers=STAFF)
    assert [row["outcome"] for row in report.json()["rows"]] == ["refused", "refused"]
    scan.error_bodies.append(report.text)  # refusal reasons count as error text
    # the life of a person, and a reveal (which alone may show the NIK, to registration)
    api.record_match(ahmad, MatchKind.PARTIAL, "mother_name")
    client.put(f"/inmates/{ahmad}/nik", json={"nik": CORRECTED_NIK}, headers=REGISTRATION)
    client.post(f"/inmates/{ahmad}/transfer", json={"to_facility": OTHER_FACILITY,
                                                   "on": "2024-03-01"}, headers=STAFF)  # fmt: skip
    assert client.get(f"/inmates/{siti}/nik", params={"purpose": "exam"},
                      headers=REGISTRATION).json() == {"nik": SITI_NIK}  # fmt: skip
    published_all(client)

    assert len(scan.error_bodies) >= 12
    assert scan.log.getvalue().strip(), "no log line was captured: the log scan would prove nothing"
    assert IDENTITY_STREAM in scan.stream_entries()
    scan.assert_clean(NIKS)


def test_the_privacy_scan_finds_a_nik_wherever_it_is_put(streams: redis.Redis) -> None:
    """Guards the guard: a NIK in a log line, an error body or a stream entry is reported."""
    for place in ("log", "error bodies", f"stream {IDENTITY_STREAM}"):
        scan = PrivacyScan(streams)
        streams.delete(IDENTITY_STREAM)
        if place == "log":
            scan.log.write(f"looked up {SITI_NIK}\n")
        elif place == "error bodies":
            scan.error_bodies.append(f'{{"detail": "{SITI_NIK} is taken"}}')
        else:
            streams.xadd(IDENTITY_STREAM, {"__data__": json.dumps({"nik": SITI_NIK})})
        try:
            scan.assert_clean(NIKS)
        except AssertionError as found:
            assert place in str(found)
        else:
            raise AssertionError(f"a NIK in the {place} went unnoticed")
