from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from jsonschema import Draft202012Validator, FormatChecker

from shared.events.catalogue import CATALOGUE
from shared.events.envelope import EventPayload
from shared.events.schema_export import ENVELOPE_FILE, export_schemas, schema_file_name
from tests.unit.events.samples import sample_event, sample_payloads

SCHEMAS = export_schemas()
PAYLOADS = sample_payloads()
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I)


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(RFC3339.match(value)) and bool(datetime.fromisoformat(value))


# jsonschema checks "date-time" only when rfc3339-validator is installed, which it is not here.
FORMATS = FormatChecker()
FORMATS.checks("date-time", raises=ValueError)(_is_rfc3339)


def validator_for(payload: EventPayload) -> Draft202012Validator:
    schema = SCHEMAS[schema_file_name(payload.event_type, payload.version)]
    return Draft202012Validator(schema, format_checker=FORMATS)


def event_json(payload: EventPayload) -> dict[str, Any]:
    return sample_event(payload).model_dump(mode="json")


def ids(payload: EventPayload) -> str:
    return payload.event_type


def test_there_is_a_sample_payload_for_every_catalogue_entry() -> None:
    assert {(payload.event_type, payload.version) for payload in PAYLOADS} == set(CATALOGUE)


def test_the_format_checker_rejects_a_time_that_is_not_rfc_3339() -> None:
    assert not FORMATS.conforms("2025-02-03 04:05", "date-time")
    assert not FORMATS.conforms("2025-02-30T04:05:06Z", "date-time")
    assert FORMATS.conforms("2025-02-03T04:05:06.123Z", "date-time")


@pytest.mark.parametrize("payload", PAYLOADS, ids=ids)
def test_every_built_event_validates_against_its_exported_schema(payload: EventPayload) -> None:
    validator_for(payload).validate(event_json(payload))


@pytest.mark.parametrize("payload", PAYLOADS, ids=ids)
def test_every_built_event_validates_against_the_bare_envelope_schema(
    payload: EventPayload,
) -> None:
    envelope = Draft202012Validator(SCHEMAS[ENVELOPE_FILE], format_checker=FORMATS)
    envelope.validate(event_json(payload))


def test_an_event_with_a_causation_id_and_unknown_extensions_validates() -> None:
    payload = PAYLOADS[0]
    event = sample_event(payload, causation_id="event-0").model_dump(mode="json")
    event["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    event["data"]["added_in_a_later_release"] = True

    validator_for(payload).validate(event)


def _without_agreement_title(event: dict[str, Any]) -> None:
    del event["data"]["agreement"]["title"]


def _with_unknown_status(event: dict[str, Any]) -> None:
    event["data"]["agreement"]["status"] = "cancelled"


def _with_numeric_title(event: dict[str, Any]) -> None:
    event["data"]["agreement"]["title"] = 4111111111111111


def _with_bad_date(event: dict[str, Any]) -> None:
    event["data"]["agreement"]["start_date"] = "31/12/2025"


def _with_zero_sequence(event: dict[str, Any]) -> None:
    event["sequence"] = 0


def _with_local_time(event: dict[str, Any]) -> None:
    event["time"] = "2025-02-03T04:05:06"


def _with_another_type(event: dict[str, Any]) -> None:
    event["type"] = "sinergi.agreement.expired"


def _without_correlation_id(event: dict[str, Any]) -> None:
    del event["correlationid"]


@pytest.mark.parametrize(
    "spoil",
    [
        _without_agreement_title,
        _with_unknown_status,
        _with_numeric_title,
        _with_bad_date,
        _with_zero_sequence,
        _with_local_time,
        _with_another_type,
        _without_correlation_id,
    ],
)
def test_an_event_with_a_wrong_payload_or_envelope_fails_validation(spoil: Any) -> None:
    payload = next(p for p in PAYLOADS if p.event_type == "sinergi.agreement.drafted")
    event = event_json(payload)
    validator = validator_for(payload)
    assert validator.is_valid(event)

    spoil(event)

    assert not validator.is_valid(event)


@pytest.mark.parametrize("payload", PAYLOADS, ids=ids)
def test_the_cloudevents_sdk_reads_a_built_event(payload: EventPayload) -> None:
    event = sample_event(payload, causation_id="event-0")

    parsed = JSONFormat().read(None, event.model_dump_json())

    assert parsed.get_specversion() == "1.0"
    assert parsed.get_id() == "event-1"
    assert parsed.get_type() == payload.event_type
    assert parsed.get_source() == event.source
    assert parsed.get_subject() == "subject-1"
    assert parsed.get_time() == event.time
    assert parsed.get_dataschema() == payload.dataschema()
    assert parsed.get_extension("facility") == "LP-CIPINANG"
    assert parsed.get_extension("sequence") == 3
    assert parsed.get_extension("correlationid") == "correlation-1"
    assert parsed.get_extension("causationid") == "event-0"
    assert parsed.get_data() == payload.model_dump(mode="json")
