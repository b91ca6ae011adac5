from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from typer.testing import CliRunner

from shared.events.asyncapi import (
    DOCS_DIR,
    app,
    asyncapi_document,
    document_file_name,
    drifted_documents,
    publishing_services,
)
from shared.events.catalogue import CATALOGUE, SOURCES, parse_event
from shared.events.examples import example_event
from shared.events.schema_export import SCHEMAS_DIR, schema_file_name

runner = CliRunner()


def messages_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    messages: dict[str, dict[str, Any]] = document["components"]["messages"]
    return messages


def payload_validator(document: dict[str, Any], key: str) -> Draft7Validator:
    """The message's payload as an AsyncAPI (draft-07) schema, its references resolvable."""
    payload = messages_of(document)[key]["payload"]
    return Draft7Validator({**payload, "components": document["components"]})


def test_the_checked_in_asyncapi_documents_match_the_event_models() -> None:
    assert drifted_documents(DOCS_DIR) == [], (
        "run `python -m shared.events.asyncapi write` and commit the result"
    )


def test_each_publishing_service_has_a_document_of_its_stream_and_every_event_it_sends() -> None:
    assert publishing_services() == ["agreements", "identity", "programs"]
    for service in publishing_services():
        document = asyncapi_document(service)
        assert document["asyncapi"].startswith("3.0")
        assert [channel["address"] for channel in document["channels"].values()] == [
            f"sinergi.{service}"
        ]
        (operation,) = document["operations"].values()
        assert operation["action"] == "send"
        sent = {ref["$ref"].rsplit("/", 1)[1] for ref in operation["messages"]}
        expected = {
            schema_file_name(event_type, version).removesuffix(".json")
            for (event_type, version) in CATALOGUE
            if SOURCES[event_type] == f"sinergi/{service}"
        }
        assert sent == expected == set(messages_of(document))


def test_every_event_type_has_an_example_the_models_accept() -> None:
    for event_type, version in CATALOGUE:
        event, payload = parse_event(example_event(event_type, version).to_json())
        assert (event.type, payload.version) == (event_type, version)


def test_every_message_example_is_valid_for_its_payload_and_its_checked_in_json_schema() -> None:
    for service in publishing_services():
        document = json.loads((DOCS_DIR / document_file_name(service)).read_text())
        for key, message in messages_of(document).items():
            schema = json.loads((SCHEMAS_DIR / f"{key}.json").read_text())
            (example,) = message["examples"]
            Draft202012Validator(schema).validate(example["payload"])
            payload_validator(document, key).validate(example["payload"])


def test_a_message_payload_rejects_what_the_json_schema_rejects() -> None:
    document = asyncapi_document("identity")
    wrong = json.loads(example_event("sinergi.inmate.admitted", 1).to_json())
    wrong["data"]["inmate"]["category"] = "Z.IX"
    validator = payload_validator(document, "sinergi.inmate.admitted.v1")
    assert [error.json_path for error in validator.iter_errors(wrong)] == ["$.data.inmate.category"]
    wrong_type = {**wrong, "type": "sinergi.inmate.released"}
    assert not validator.is_valid(wrong_type)


def test_check_fails_on_a_changed_missing_or_stray_document(tmp_path: Path) -> None:
    assert runner.invoke(app, ["write", "--directory", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["check", "--directory", str(tmp_path)]).exit_code == 0

    (tmp_path / "identity.json").write_text("{}\n")
    (tmp_path / "programs.json").unlink()
    (tmp_path / "payments.json").write_text("{}\n")
    result = runner.invoke(app, ["check", "--directory", str(tmp_path)])

    assert result.exit_code == 1
    assert drifted_documents(tmp_path) == ["identity.json", "programs.json", "payments.json"]


def test_a_service_that_publishes_nothing_has_no_document() -> None:
    with pytest.raises(ValueError, match="publishes no event"):
        asyncapi_document("dashboard")
