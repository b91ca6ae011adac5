"""Helpers of the dashboard integration tests: keys, settings, and the facts of the streams.

The agreements, programs and identity services are played by XADDing their CloudEvents
(built with the shared payloads and `build_event`) in the entry format.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import redis
from fastapi.testclient import TestClient

from services.dashboard.bootstrap import create_app
from services.dashboard.config import DashboardSettings
from shared.events import EventPayload, build_event
from shared.events import agreements as agreement_facts
from shared.events import identity as identity_facts
from shared.events import programs as programs_facts
from shared.http.auth import ApiKeyEntry, Role, hash_api_key
from shared.messaging import DEADLETTER_STREAM, ENTRY_FIELD, stream_of
from shared.messaging.deadletters import dead_letter_fields
from tests.streams import consumed_everything, wait_until

FACILITY = "rutan-barabai"
OTHER_FACILITY = "lapas-banjarmasin"
AGREEMENTS_STREAM = stream_of("agreements")
PROGRAMS_STREAM = stream_of("programs")
IDENTITY_STREAM = stream_of("identity")
STREAMS = (AGREEMENTS_STREAM, PROGRAMS_STREAM, IDENTITY_STREAM)
GROUP = "dashboard"
TODAY = date(2024, 6, 1)
OWN_PARTNER = "dinkes"
OTHER_PARTNER = "disnaker"

RAW_KEYS = {
    "staff": "test-dashboard-staff-key-0123456789",
    "auditor": "test-dashboard-auditor-key-0123456789",
    "registration": "test-dashboard-registration-key-0123456789",
    "partner-own": "test-dashboard-partner-dinkes-0123456789",
    "partner-other": "test-dashboard-partner-disnaker-0123456789",
}


def auth(role: str) -> dict[str, str]:
    return {"X-API-Key": RAW_KEYS[role]}


def api_key_entries() -> list[ApiKeyEntry]:
    def entry(key: str, name: str, role: Role, partner: str | None = None) -> ApiKeyEntry:
        return ApiKeyEntry(
            name=name, role=role, partner=partner, sha256=hash_api_key(RAW_KEYS[key])
        )

    return [
        entry("staff", "petugas-barabai", Role.STAFF),
        entry("auditor", "auditor", Role.AUDITOR),
        entry("registration", "registrasi", Role.REGISTRATION),
        entry("partner-own", OWN_PARTNER, Role.PARTNER, OWN_PARTNER),
        entry("partner-other", OTHER_PARTNER, Role.PARTNER, OTHER_PARTNER),
    ]


def make_settings(database_url: str, redis_url: str, **overrides: Any) -> DashboardSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "facility": FACILITY,
        "dashboard_database_url": database_url,
        "redis_url": redis_url,
        "dashboard_api_keys": api_key_entries(),
        "dashboard_session_secret": "test-dashboard-session-secret",
        "today": TODAY,
        "block_ms": 50,
        "relay_poll_interval_s": 0.5,
        "claim_idle_ms": 5_000,
        "claim_interval_s": 1.0,
        "monitor_interval_s": 0.2,
        "consumer_name": "dashboard-test",
    }
    values.update(overrides)
    return DashboardSettings(**values)


@contextlib.contextmanager
def running(settings: DashboardSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@dataclass
class World:
    """The other services, as the facts they publish on their streams."""

    streams: redis.Redis
    sequences: dict[str, int] = field(default_factory=dict)
    agreements: dict[str, agreement_facts.AgreementState] = field(default_factory=dict)
    items: dict[str, tuple[str, agreement_facts.ActionPlanItemState]] = field(default_factory=dict)
    inmates: dict[str, identity_facts.InmateState] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)

    def publish(
        self,
        stream: str,
        payload: EventPayload,
        subject: str,
        facility: str = FACILITY,
        *,
        sequence: int | None = None,
    ) -> str:
        if sequence is None:
            sequence = self.sequences.get(subject, 0) + 1
        self.sequences[subject] = max(self.sequences.get(subject, 0), sequence)
        event = build_event(payload, subject=subject, facility=facility, sequence=sequence)
        body = event.to_json()
        self.streams.xadd(stream, {ENTRY_FIELD: body})
        self.published.append(body)
        return body

    def settle(self) -> None:
        wait_until(
            lambda: all(consumed_everything(self.streams, s, GROUP) for s in STREAMS),
            what="the dashboard to consume the streams",
        )

    # --- agreements ---------------------------------------------------------------------

    def partner(self, code: str, name: str) -> None:
        state = agreement_facts.PartnerState(
            partner_id=f"partner-{code}", code=code, name=name, kind="government", sectors=[]
        )
        self.publish(
            AGREEMENTS_STREAM, agreement_facts.PartnerRegistered(partner=state), state.partner_id
        )

    def agreement(
        self,
        *,
        partner: str = OWN_PARTNER,
        end: date = date(2026, 12, 31),
        status: agreement_facts.AgreementStatus = "active",
        title: str = "Kerja sama pembinaan",
    ) -> str:
        agreement_id = str(uuid.uuid4())
        number = len(self.agreements) + 1
        state = agreement_facts.AgreementState(
            agreement_id=agreement_id,
            partner_id=f"partner-{partner}",
            partner_code=partner,
            facility_number=f"W.18.PAS.PAS.1-HM.{number:02d}",
            partner_number=f"P-{number}",
            title=title,
            programme_kinds=["penyuluhan_kesehatan"],
            start_date=date(2024, 1, 1),
            end_date=end,
            status=status,
        )
        self.agreements[agreement_id] = state
        payload: EventPayload = (
            agreement_facts.AgreementActivated(agreement=state)
            if status == "active"
            else agreement_facts.AgreementDrafted(agreement=state)
        )
        self.publish(AGREEMENTS_STREAM, payload, agreement_id)
        return agreement_id

    def set_status(self, agreement_id: str, status: agreement_facts.AgreementStatus) -> None:
        state = self.agreements[agreement_id].model_copy(update={"status": status})
        self.agreements[agreement_id] = state
        payload: EventPayload
        if status == "expired":
            payload = agreement_facts.AgreementExpired(agreement=state)
        elif status == "expiring":
            payload = agreement_facts.AgreementExpiring(agreement=state)
        else:
            payload = agreement_facts.AgreementActivated(agreement=state)
        self.publish(AGREEMENTS_STREAM, payload, agreement_id)

    def item(self, agreement_id: str, *, target: int = 12, description: str = "Penyuluhan") -> str:
        item_id = str(uuid.uuid4())
        item = agreement_facts.ActionPlanItemState(
            item_id=item_id,
            programme_kind="penyuluhan_kesehatan",
            description=description,
            target_quantity=target,
            unit="kegiatan",
            period_start=date(2024, 1, 1),
            period_end=date(2024, 12, 31),
            responsible="partner",
            realised_quantity=0,
            milestone="open",
        )
        self.items[item_id] = (agreement_id, item)
        payload = agreement_facts.ActionPlanItemAdded(
            agreement=self.agreements[agreement_id], item=item
        )
        self.publish(AGREEMENTS_STREAM, payload, agreement_id)
        return item_id

    def realise(self, item_id: str, realised: int, *, sequence: int | None = None) -> str:
        agreement_id, previous = self.items[item_id]
        item = previous.model_copy(update={"realised_quantity": realised})
        if sequence is None:
            self.items[item_id] = (agreement_id, item)
        payload = agreement_facts.RealisationUpdated(
            agreement=self.agreements[agreement_id], item=item, session_id=str(uuid.uuid4())
        )
        return self.publish(AGREEMENTS_STREAM, payload, agreement_id, sequence=sequence)

    # --- programs -----------------------------------------------------------------------

    def session_held(self, agreement_id: str, participants: int = 20) -> str:
        session_id = str(uuid.uuid4())
        agreement = self.agreements[agreement_id]
        state = programs_facts.SessionState(
            session_id=session_id,
            agreement_id=agreement_id,
            partner_code=agreement.partner_code,
            programme_kind="penyuluhan_kesehatan",
            status="held",
            scheduled_on=date(2024, 5, 2),
            held_on=date(2024, 5, 2),
            delivered_quantity=1,
            unit="kegiatan",
            participant_count=participants,
        )
        self.publish(PROGRAMS_STREAM, programs_facts.SessionHeld(session=state), session_id)
        return session_id

    # --- identity -----------------------------------------------------------------------

    def admit(
        self,
        name: str,
        *,
        nik_status: identity_facts.NikStatus = "unverified",
        facility: str = FACILITY,
    ) -> str:
        person_id = str(uuid.uuid4())
        state = identity_facts.InmateState(
            person_id=person_id,
            register_number=f"BI-{len(self.inmates) + 1:04d}",
            name=name,
            category="B.I",
            custody_status="convict",
            admission_date=date(2023, 6, 1),
            custody_periods=[
                identity_facts.CustodyPeriod(facility=facility, since=date(2023, 6, 1))
            ],
            nik_status=nik_status,
        )
        self.inmates[person_id] = state
        self.publish(
            IDENTITY_STREAM, identity_facts.InmateAdmitted(inmate=state), person_id, facility
        )
        return person_id

    def nik(self, person_id: str, status: identity_facts.NikStatus) -> None:
        previous = self.inmates[person_id]
        state = previous.model_copy(update={"nik_status": status})
        self.inmates[person_id] = state
        payload = identity_facts.NikStatusChanged(inmate=state, previous_status=previous.nik_status)
        self.publish(IDENTITY_STREAM, payload, person_id)

    def release(self, person_id: str, on: date) -> None:
        previous = self.inmates[person_id]
        periods = list(previous.custody_periods)
        periods[-1] = periods[-1].model_copy(update={"until": on})
        state = previous.model_copy(
            update={"custody_status": "released", "custody_periods": periods}
        )
        self.inmates[person_id] = state
        self.publish(
            IDENTITY_STREAM, identity_facts.InmateReleased(inmate=state, released_on=on), person_id
        )


def add_dead_letter(
    streams: redis.Redis, *, stream: str, group: str, reason_code: str, reason: str
) -> None:
    """A dead letter as a consumer writes it (the reason redacted on the way)."""
    fields: dict[Any, Any] = dict(
        dead_letter_fields(
            stream=stream,
            group=group,
            entry_id="1-0",
            body=b"{}",
            reason_code=reason_code,
            reason=reason,
            deliveries=5,
            service=group,
        )
    )
    streams.xadd(DEADLETTER_STREAM, fields)
