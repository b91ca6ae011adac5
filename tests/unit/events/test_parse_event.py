from __future__ import annotations

import json
from typing import Any

import pytest

from shared.events.catalogue import InvalidEventError, parse_event
from tests.unit.events.samples import sample_event, sample_payloads

CARD_NUMBER = 4111111111111111


def drafted_event() -> dict[str, Any]:
    payload = next(p for p in sample_payloads() if p.event_type == "sinergi.agreement.drafted")
    return sample_event(payload).model_dump(mode="json")


def rejection(raw: str | bytes) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(raw)
    return caught.value


def test_a_built_event_parses_back_to_the_same_event_and_payload() -> None:
    for payload in sample_payloads():
        event = sample_event(payload)

        parsed, parsed_payload = parse_event(event.model_dump_json())

        assert parsed.model_dump(mode="json") == event.model_dump(mode="json")
        assert parsed.to_json() == event.to_json()
        assert parsed_payload == payload


def test_bad_json_is_an_invalid_envelope() -> None:
    assert rejection(b'{"id": "event-1",').code == "invalid_envelope"


def test_an_envelope_missing_an_attribute_is_an_invalid_envelope() -> None:
    event = drafted_event()
    del event["subject"]

    error = rejection(json.dumps(event))

    assert error.code == "invalid_envelope"
    assert "subject" in error.reason


def test_an_unknown_type_is_rejected_as_unknown_type() -> None:
    event = drafted_event()
    event["type"] = "sinergi.agreement.teleported"
    event["dataschema"] = "urn:sinergi:schema:sinergi.agreement.teleported:v1"

    error = rejection(json.dumps(event))

    assert error.code == "unknown_type"
    assert "sinergi.agreement.teleported" in error.reason


def test_an_unknown_version_of_a_known_type_is_rejected_as_unknown_version() -> None:
    event = drafted_event()
    event["dataschema"] = "urn:sinergi:schema:sinergi.agreement.drafted:v9"

    error = rejection(json.dumps(event))

    assert error.code == "unknown_version"
    assert "sinergi.agreement.drafted v9" in error.reason


def test_a_dataschema_naming_another_type_is_an_invalid_envelope() -> None:
    event = drafted_event()
    event["dataschema"] = "urn:sinergi:schema:sinergi.partner.registered:v1"

    assert rejection(json.dumps(event)).code == "invalid_envelope"


def test_a_known_type_from_the_wrong_source_is_an_invalid_envelope() -> None:
    event = drafted_event()
    event["source"] = "sinergi/programs"

    assert rejection(json.dumps(event)).code == "invalid_envelope"


def test_a_sequence_given_as_text_is_an_invalid_envelope() -> None:
    event = drafted_event()
    event["sequence"] = "7"

    assert rejection(json.dumps(event)).code == "invalid_envelope"


def test_a_payload_missing_a_field_is_an_invalid_payload() -> None:
    event = drafted_event()
    del event["data"]["agreement"]["partner_code"]

    error = rejection(json.dumps(event))

    assert error.code == "invalid_payload"
    assert "agreement.partner_code" in error.reason


def test_the_reason_for_a_bad_envelope_value_never_contains_the_value() -> None:
    event = drafted_event()
    event["facility"] = CARD_NUMBER
    event["subject"] = str(CARD_NUMBER) * 9

    error = rejection(json.dumps(event))

    assert error.code == "invalid_envelope"
    assert "facility" in error.reason
    assert str(CARD_NUMBER) not in error.reason
    assert str(CARD_NUMBER) not in str(error)


def test_the_reason_for_a_bad_payload_value_never_contains_the_value() -> None:
    event = drafted_event()
    event["data"]["agreement"]["title"] = CARD_NUMBER
    event["data"]["agreement"]["start_date"] = str(CARD_NUMBER)
    event["data"]["agreement"]["status"] = str(CARD_NUMBER)

    error = rejection(json.dumps(event))

    assert error.code == "invalid_payload"
    assert "agreement.title" in error.reason
    assert str(CARD_NUMBER) not in error.reason
    assert str(CARD_NUMBER) not in str(error)


def test_the_reason_for_bad_json_never_contains_the_submitted_text() -> None:
    error = rejection('{"facility": 4111111111111111 "id": 1}')

    assert error.code == "invalid_envelope"
    assert str(CARD_NUMBER) not in error.reason


def test_the_reason_never_contains_a_submitted_dict_key() -> None:
    payload = next(p for p in sample_payloads() if p.event_type == "sinergi.agreement.amended")
    event = sample_event(payload).model_dump(mode="json")
    event["data"]["changes"] = {str(CARD_NUMBER): 5}

    error = rejection(json.dumps(event))

    assert error.code == "invalid_payload"
    assert str(CARD_NUMBER) not in error.reason
