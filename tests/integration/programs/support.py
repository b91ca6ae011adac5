"""Helpers of the programs integration tests: keys, settings, a running app, the other services.

The agreements and identity services are played by XADDing their CloudEvents (built with
the shared payloads) to `sinergi.agreements` and `sinergi.identity`.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import redis
from fastapi.testclient import TestClient

from services.programs.bootstrap import create_app
from services.programs.config import ProgramsSettings
from shared.events import EventPayload, build_event
from shared.events import agreements as agreement_facts
from shared.events import identity as identity_facts
from shared.http.auth import ApiKeyEntry, Role, hash_api_key
from shared.messaging import ENTRY_FIELD
from tests.streams import consumed_everything, wait_until

FACILITY = "rutan-barabai"
OTHER_FACILITY = "lapas-banjarmasin"
AGREEMENTS_STREAM = "sinergi.agreements"
IDENTITY_STREAM = "sinergi.identity"
PROGRAMS_STREAM = "sinergi.programs"
GROUP = "programs"
TODAY = date(2024, 6, 1)
OWN_PARTNER = "dinkes"
OTHER_PARTNER = "disnaker"

RAW_KEYS = {
    "staff": "test-programs-staff-key-0123456789",
    "auditor": "test-programs-auditor-key-0123456789",
    "partner-own": "test-programs-partner-dinkes-0123456789",
    "partner-other": "test-programs-partner-disnaker-0123456789",
}


def auth(role: str) -> dict[str, str]:
    return {"X-API-Key": RAW_KEYS[role]}


STAFF = auth("staff")


def api_key_entries() -> list[ApiKeyEntry]:
    return [
        ApiKeyEntry(name="staff", role=Role.STAFF, sha256=hash_api_key(RAW_KEYS["staff"])),
        ApiKeyEntry(name="auditor", role=Role.AUDITOR, sha256=hash_api_key(RAW_KEYS["auditor"])),
        ApiKeyEntry(
            name=OWN_PARTNER,
            role=Role.PARTNER,
            partner=OWN_PARTNER,
            sha256=hash_api_key(RAW_KEYS["partner-own"]),
        ),
        ApiKeyEntry(
            name=OTHER_PARTNER,
            role=Role.PARTNER,
            partner=OTHER_PARTNER,
            sha256=hash_api_key(RAW_KEYS["partner-other"]),
        ),
    ]


def make_settings(database_url: str, redis_url: str, **overrides: Any) -> ProgramsSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "facility": FACILITY,
        "programs_database_url": database_url,
        "redis_url": redis_url,
        "programs_api_keys": api_key_entries(),
        "today": TODAY,
        "block_ms": 50,
        "relay_poll_interval_s": 0.1,
        "claim_idle_ms": 5_000,
        "claim_interval_s": 1.0,
        "monitor_interval_s": 0.2,
        "consumer_name": "programs-test",
    }
    values.update(overrides)
    return ProgramsSettings(**values)


@contextlib.contextmanager
def running(settings: ProgramsSettings) -> Iterator[TestClient]:
    """The app with its lifespan (migrations, kinds, relay, consumers) running."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def stream_events(r: redis.Redis, stream: str = PROGRAMS_STREAM) -> list[dict[str, Any]]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(stream))
    return [json.loads(fields[ENTRY_FIELD.encode()]) for _, fields in entries]


def published(r: redis.Redis, type_: str, subject: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in stream_events(r)
        if e["type"] == type_ and (subject is None or e["subject"] == subject)
    ]


def refusal(response: Any, status: int = 422) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["code"])


@dataclass
class World:
    """The agreements and identity services, as the facts they publish."""

    streams: redis.Redis
    sequences: dict[str, int] = field(default_factory=dict)
    agreements: dict[str, agreement_facts.AgreementState] = field(default_factory=dict)
    inmates: dict[str, identity_facts.InmateState] = field(default_factory=dict)

    def _publish(self, stream: str, payload: EventPayload, subject: str, facility: str) -> None:
        self.sequences[subject] = self.sequences.get(subject, 0) + 1
        event = build_event(
            payload, subject=subject, facility=facility, sequence=self.sequences[subject]
        )
        self.streams.xadd(stream, {ENTRY_FIELD: event.to_json()})

    def settle(self) -> None:
        wait_until(
            lambda: all(
                consumed_everything(self.streams, s, GROUP)
                for s in (AGREEMENTS_STREAM, IDENTITY_STREAM)
            ),
            what="the programs service to consume the streams",
        )

    # --- agreements ---------------------------------------------------------------------

    def agreement(
        self,
        kinds: list[str],
        *,
        partner: str = OWN_PARTNER,
        start: date = date(2024, 1, 1),
        end: date = date(2026, 12, 31),
        status: agreement_facts.AgreementStatus = "active",
        facility: str = FACILITY,
    ) -> str:
        agreement_id = str(uuid.uuid4())
        state = agreement_facts.AgreementState(
            agreement_id=agreement_id,
            partner_id=f"partner-{partner}",
            partner_code=partner,
            facility_number=f"W.18-PK-{len(self.agreements) + 1}",
            partner_number=f"P-{len(self.agreements) + 1}",
            title=f"Cooperation on {', '.join(kinds)}",
            programme_kinds=kinds,
            start_date=start,
            end_date=end,
            status="draft",
        )
        self.agreements[agreement_id] = state
        self._publish(
            AGREEMENTS_STREAM, agreement_facts.AgreementDrafted(agreement=state), agreement_id,
            facility,
        )  # fmt: skip
        if status != "draft":
            self.set_status(agreement_id, status, facility=facility)
        return agreement_id

    def set_status(
        self,
        agreement_id: str,
        status: agreement_facts.AgreementStatus,
        *,
        facility: str = FACILITY,
        terminated_on: date | None = None,
    ) -> None:
        state = self.agreements[agreement_id].model_copy(update={"status": status})
        self.agreements[agreement_id] = state
        payload: EventPayload
        if status == "terminated":
            assert terminated_on is not None
            payload = agreement_facts.AgreementTerminated(
                agreement=state, reason="the agency was merged", terminated_on=terminated_on
            )
        elif status == "expired":
            payload = agreement_facts.AgreementExpired(agreement=state)
        else:
            payload = agreement_facts.AgreementActivated(agreement=state)
        self._publish(AGREEMENTS_STREAM, payload, agreement_id, facility)

    def item(
        self,
        agreement_id: str,
        kind: str,
        *,
        target: int = 10,
        counts: agreement_facts.CountingRule | None = None,
    ) -> str:
        item_id = str(uuid.uuid4())
        item = agreement_facts.ActionPlanItemState(
            item_id=item_id,
            programme_kind=kind,
            description=f"{kind} for the people in custody",
            target_quantity=target,
            unit="units",
            period_start=date(2024, 1, 1),
            period_end=date(2024, 12, 31),
            responsible="partner",
            realised_quantity=0,
            milestone="open",
            counts=counts,
        )
        payload = agreement_facts.ActionPlanItemAdded(
            agreement=self.agreements[agreement_id], item=item
        )
        self._publish(AGREEMENTS_STREAM, payload, agreement_id, FACILITY)
        return item_id

    # --- identity -----------------------------------------------------------------------

    def admit(
        self,
        register_number: str,
        *,
        since: date = date(2023, 6, 1),
        nik_status: identity_facts.NikStatus = "validated",
        facility: str = FACILITY,
    ) -> str:
        person_id = str(uuid.uuid4())
        state = identity_facts.InmateState(
            person_id=person_id,
            register_number=register_number,
            name=f"WBP {register_number}",
            category="B.I",
            custody_status="convict",
            admission_date=since,
            custody_periods=[identity_facts.CustodyPeriod(facility=facility, since=since)],
            nik_status=nik_status,
        )
        self.inmates[person_id] = state
        self._publish(
            IDENTITY_STREAM, identity_facts.InmateAdmitted(inmate=state), person_id, facility
        )
        return person_id

    def nik(self, person_id: str, status: identity_facts.NikStatus) -> None:
        previous = self.inmates[person_id]
        state = previous.model_copy(update={"nik_status": status})
        self.inmates[person_id] = state
        payload = identity_facts.NikStatusChanged(inmate=state, previous_status=previous.nik_status)
        self._publish(IDENTITY_STREAM, payload, person_id, FACILITY)

    def release(self, person_id: str, on: date) -> None:
        previous = self.inmates[person_id]
        periods = list(previous.custody_periods)
        periods[-1] = periods[-1].model_copy(update={"until": on})
        state = previous.model_copy(
            update={"custody_status": "released", "custody_periods": periods}
        )
        self.inmates[person_id] = state
        payload = identity_facts.InmateReleased(inmate=state, released_on=on)
        self._publish(IDENTITY_STREAM, payload, person_id, periods[-1].facility)

    def transfer(self, person_id: str, to_facility: str, on: date) -> None:
        previous = self.inmates[person_id]
        periods = list(previous.custody_periods)
        origin = periods[-1].facility
        periods[-1] = periods[-1].model_copy(update={"until": on})
        periods.append(identity_facts.CustodyPeriod(facility=to_facility, since=on))
        state = previous.model_copy(update={"custody_periods": periods})
        self.inmates[person_id] = state
        payload = identity_facts.InmateTransferred(
            inmate=state, from_facility=origin, to_facility=to_facility, transferred_on=on
        )
        self._publish(IDENTITY_STREAM, payload, person_id, to_facility)
