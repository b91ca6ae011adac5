from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from shared.events.catalogue import CATALOGUE
from shared.events.envelope import EventPayload
from shared.events.schema_export import (
    ENVELOPE_FILE,
    SCHEMAS_DIR,
    JsonSchema,
    app,
    breaking_changes,
    drifted_files,
    event_schema,
    export_schemas,
    incompatibilities,
    render,
)

TEST_SOURCE = "sinergi/tests"


def schema_of(model: type[EventPayload]) -> JsonSchema:
    return event_schema(model, source=TEST_SOURCE)


class Address(BaseModel):
    street: str
    city: str


class Visit(EventPayload):
    """Version 1 as published; each test below changes a copy of it."""

    event_type = "sinergi.test.visited"
    name: str
    count: int
    note: str | None = None
    colour: Literal["red", "green"]
    address: Address
    tags: list[str]


PUBLISHED = schema_of(Visit)


def test_the_checked_in_schemas_match_the_models() -> None:
    assert drifted_files(SCHEMAS_DIR) == [], (
        "run `python -m shared.events.schema_export write` and commit the result"
    )


def test_no_checked_in_schema_is_broken_by_the_current_models() -> None:
    assert incompatibilities(SCHEMAS_DIR) == []


def test_there_is_a_schema_file_for_every_catalogue_entry_and_the_envelope() -> None:
    expected = {f"{event_type}.v{version}.json" for event_type, version in CATALOGUE}
    assert set(export_schemas()) == expected | {ENVELOPE_FILE}


@pytest.mark.parametrize("name", sorted(export_schemas()))
def test_every_exported_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    Draft202012Validator.check_schema(export_schemas()[name])


def test_an_event_schema_names_its_type_and_dataschema_and_hoists_the_payload_defs() -> None:
    schema = schema_of(Visit)

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:sinergi:schema:sinergi.test.visited:v1"
    assert schema["title"] == "sinergi.test.visited"
    properties = schema["properties"]
    assert properties["type"]["const"] == "sinergi.test.visited"
    assert properties["source"]["const"] == TEST_SOURCE
    assert properties["data"]["properties"]["address"] == {"$ref": "#/$defs/Address"}
    assert "$defs" not in properties["data"]
    assert "Address" in schema["$defs"]
    assert set(schema["required"]) == set(properties) - {"causationid"}


def test_an_unchanged_model_has_no_breaking_changes() -> None:
    assert breaking_changes(PUBLISHED, schema_of(Visit)) == []


def test_a_removed_field_is_breaking() -> None:
    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        name: str
        note: str | None = None
        colour: Literal["red", "green"]
        address: Address
        tags: list[str]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == ["property data.count removed"]


def test_a_removed_optional_field_is_breaking_too() -> None:
    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        name: str
        count: int
        colour: Literal["red", "green"]
        address: Address
        tags: list[str]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == ["property data.note removed"]


def test_a_renamed_field_is_a_removal_and_a_new_required_field() -> None:
    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        full_name: str
        count: int
        note: str | None = None
        colour: Literal["red", "green"]
        address: Address
        tags: list[str]

    assert sorted(breaking_changes(PUBLISHED, schema_of(Changed))) == [
        "new required property data.full_name",
        "property data.name removed",
    ]


def test_a_field_retyped_from_str_to_int_is_breaking() -> None:
    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        name: int
        count: int
        note: str | None = None
        colour: Literal["red", "green"]
        address: Address
        tags: list[str]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == [
        "type of data.name changed from string to integer"
    ]


def test_an_optional_field_made_required_is_breaking() -> None:
    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        name: str
        count: int
        note: str
        colour: Literal["red", "green"]
        address: Address
        tags: list[str]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == [
        "property data.note changed from optional to required",
        "data.note no longer accepts null",
    ]


def test_a_new_required_field_is_breaking() -> None:
    class Changed(Visit):
        visited_on: str

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == [
        "new required property data.visited_on"
    ]


def test_a_field_removed_from_a_nested_model_is_breaking() -> None:
    class StreetOnly(BaseModel):
        street: str

    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        name: str
        count: int
        note: str | None = None
        colour: Literal["red", "green"]
        address: StreetOnly
        tags: list[str]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == ["property data.address.city removed"]


def test_an_enum_value_removed_is_breaking() -> None:
    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        name: str
        count: int
        note: str | None = None
        colour: Literal["red"]
        address: Address
        tags: list[str]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == [
        'data.colour no longer accepts "green"'
    ]


def test_a_retyped_array_item_is_breaking() -> None:
    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        name: str
        count: int
        note: str | None = None
        colour: Literal["red", "green"]
        address: Address
        tags: list[int]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == [
        "type of data.tags[] changed from string to integer"
    ]


def test_a_tightened_constraint_is_breaking() -> None:
    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        name: str = Field(max_length=10)
        count: int = Field(ge=1)
        note: str | None = None
        colour: Literal["red", "green"]
        address: Address
        tags: list[str]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == [
        "data.name gained the constraint maxLength 10",
        "data.count gained the constraint minimum 1",
    ]


def test_a_changed_source_on_the_envelope_is_breaking() -> None:
    assert breaking_changes(PUBLISHED, event_schema(Visit, source="sinergi/other")) == [
        'source no longer accepts "sinergi/tests"'
    ]


def test_a_new_optional_field_is_compatible() -> None:
    class Changed(Visit):
        visited_on: str | None = None
        rooms: list[str] = Field(default_factory=list)

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == []


def test_changed_descriptions_and_titles_are_compatible() -> None:
    class Street(BaseModel):
        """Where the visit happened."""

        street: str = Field(title="Road", description="Street and number")
        city: str

    class Changed(EventPayload):
        """A visit, now documented."""

        event_type = "sinergi.test.visited"
        name: str = Field(description="Who visited")
        count: int
        note: str | None = None
        colour: Literal["red", "green"]
        address: Street
        tags: list[str]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == []


def test_loosening_a_field_is_compatible() -> None:
    class Changed(EventPayload):
        event_type = "sinergi.test.visited"
        name: str | None = None
        count: float
        note: str | None = None
        colour: Literal["red", "green", "blue"]
        address: Address
        tags: list[str | int]

    assert breaking_changes(PUBLISHED, schema_of(Changed)) == []


def test_a_recursive_model_is_compared_without_looping() -> None:
    class Node(BaseModel):
        label: str
        children: list[Node]

    class Tree(EventPayload):
        event_type = "sinergi.test.grown"
        root: Node

    class Leaf(BaseModel):
        children: list[Leaf]

    class Pruned(EventPayload):
        event_type = "sinergi.test.grown"
        root: Leaf

    assert breaking_changes(schema_of(Tree), schema_of(Tree)) == []
    assert breaking_changes(schema_of(Tree), schema_of(Pruned)) == [
        "property data.root.label removed"
    ]


runner = CliRunner()


def test_write_then_check_passes_and_rendering_is_sorted_with_a_trailing_newline(
    tmp_path: Path,
) -> None:
    assert runner.invoke(app, ["write", "--directory", str(tmp_path)]).exit_code == 0
    result = runner.invoke(app, ["check", "--directory", str(tmp_path)])

    assert result.exit_code == 0, result.output
    text = (tmp_path / ENVELOPE_FILE).read_text()
    assert text.endswith("}\n")
    assert text == render(json.loads(text))


def test_check_fails_on_drift_and_says_how_to_fix_it(tmp_path: Path) -> None:
    runner.invoke(app, ["write", "--directory", str(tmp_path)])
    (tmp_path / "sinergi.session.held.v1.json").write_text("{}\n")

    result = runner.invoke(app, ["check", "--directory", str(tmp_path)])

    assert result.exit_code == 1
    assert "python -m shared.events.schema_export write" in result.output
    assert "sinergi.session.held.v1.json" in result.output


def test_check_fails_when_a_published_field_is_gone(tmp_path: Path) -> None:
    runner.invoke(app, ["write", "--directory", str(tmp_path)])
    published = tmp_path / "sinergi.session.cancelled.v1.json"
    schema = json.loads(published.read_text())
    schema["properties"]["data"]["properties"]["cancelled_by"] = {"type": "string"}
    published.write_text(render(schema))

    result = runner.invoke(app, ["check", "--directory", str(tmp_path)])

    assert result.exit_code == 1
    assert (
        "sinergi.session.cancelled v1: property data.cancelled_by removed; publish it as v2 instead"
    ) in result.output


def test_check_fails_when_a_published_version_has_no_model_any_more(tmp_path: Path) -> None:
    runner.invoke(app, ["write", "--directory", str(tmp_path)])
    (tmp_path / "sinergi.session.rescheduled.v1.json").write_text(render(schema_of(Visit)))

    result = runner.invoke(app, ["check", "--directory", str(tmp_path)])

    assert result.exit_code == 1
    assert "sinergi.session.rescheduled v1: the schema is published but no model" in (result.output)
