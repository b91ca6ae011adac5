"""JSON Schemas of every published event, and the check that keeps them backward compatible.

`python -m shared.events.schema_export write` regenerates `shared/events/schemas/`;
`python -m shared.events.schema_export check` fails on drift or on a breaking change.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.events.catalogue import CATALOGUE, SOURCES
from shared.events.envelope import CloudEvent, EventPayload

JsonSchema = dict[str, Any]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_DIR = Path(__file__).parent / "schemas"
ENVELOPE_FILE = "cloudevent.json"
ENVELOPE_ID = "urn:sinergi:schema:cloudevent"
WRITE_COMMAND = "python -m shared.events.schema_export write"

_OPTIONAL_ATTRIBUTES = frozenset({"causationid"})
_FILE_NAME = re.compile(r"^(?P<type>.+)\.v(?P<version>[0-9]+)\.json$")


def schema_file_name(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}.json"


def _envelope_properties() -> dict[str, JsonSchema]:
    properties: dict[str, JsonSchema] = CloudEvent.model_json_schema(mode="serialization")[
        "properties"
    ]
    # The field serializer hides the datetime from pydantic; the wire format is RFC 3339.
    properties["time"] = {**properties["time"], "format": "date-time"}
    return properties


def _envelope(properties: dict[str, JsonSchema], *, schema_id: str, title: str) -> JsonSchema:
    return {
        "$schema": DIALECT,
        "$id": schema_id,
        "title": title,
        "type": "object",
        "properties": properties,
        "required": sorted(name for name in properties if name not in _OPTIONAL_ATTRIBUTES),
        "additionalProperties": True,
    }


def envelope_schema() -> JsonSchema:
    """The CloudEvent envelope shared by every event type, with `data` left open."""
    schema = _envelope(_envelope_properties(), schema_id=ENVELOPE_ID, title="CloudEvent")
    schema["description"] = (
        "A Sinergi event in CloudEvents 1.0 structured JSON mode; `data` is described by "
        "the schema named in `dataschema`."
    )
    return schema


def event_schema(model: type[EventPayload], *, source: str | None = None) -> JsonSchema:
    """The whole CloudEvent of `model`'s type and version, payload in `data`, standalone."""
    source = source or SOURCES[model.event_type]
    data = model.model_json_schema(mode="serialization")
    definitions = data.pop("$defs", None)
    properties = _envelope_properties()
    properties["source"] = {"type": "string", "const": source}
    properties["type"] = {"type": "string", "const": model.event_type}
    properties["dataschema"] = {"type": "string", "const": model.dataschema()}
    properties["data"] = data
    schema = _envelope(properties, schema_id=model.dataschema(), title=model.event_type)
    description = (
        f"{model.event_type} v{model.version}, published by {source}: the CloudEvents 1.0 "
        "envelope with the payload in `data`."
    )
    if model.__doc__:
        description = f"{description} {model.__doc__.strip()}"
    schema["description"] = description
    if definitions:
        schema["$defs"] = definitions
    return schema


def export_schemas() -> dict[str, JsonSchema]:
    """Every schema file, keyed by file name: one per catalogue entry plus the bare envelope."""
    schemas = {
        schema_file_name(event_type, version): event_schema(model)
        for (event_type, version), model in CATALOGUE.items()
    }
    schemas[ENVELOPE_FILE] = envelope_schema()
    return dict(sorted(schemas.items()))


def render(schema: JsonSchema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


# --- compatibility ---------------------------------------------------------------------------

_RAISED_IS_TIGHTER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_LOWERED_IS_TIGHTER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def breaking_changes(old: JsonSchema, new: JsonSchema) -> list[str]:
    """What a consumer of `old` (or a stream of events valid under it) would trip over in `new`.

    Both directions matter for an event stream: events written under `old` are replayed
    against the current model, and consumers built on `old` read events written under `new`.
    """
    return _Comparison(old, new).compare(old, new, "")


class _Comparison:
    def __init__(self, old_document: JsonSchema, new_document: JsonSchema) -> None:
        self.old_document = old_document
        self.new_document = new_document
        self.in_progress: set[tuple[str, str]] = set()

    def compare(self, old: JsonSchema, new: JsonSchema, path: str) -> list[str]:
        old, old_ref = _resolve(old, self.old_document)
        new, new_ref = _resolve(new, self.new_document)
        if not (old_ref or new_ref):
            return self._compare_resolved(old, new, path)
        # A recursive model refers back to itself: stop where the same pair is already open.
        key = (old_ref, new_ref)
        if key in self.in_progress:
            return []
        self.in_progress.add(key)
        try:
            return self._compare_resolved(old, new, path)
        finally:
            self.in_progress.remove(key)

    def _compare_resolved(self, old: JsonSchema, new: JsonSchema, path: str) -> list[str]:
        old_options = _alternatives(old, self.old_document)
        new_options = _alternatives(new, self.new_document)
        if len(old_options) == 1 and len(new_options) == 1:
            return self._compare_one(old_options[0], new_options[0], path)
        problems: list[str] = []
        for option in old_options:
            candidates: list[list[str]] = [
                self._compare_one(option, candidate, path)
                for candidate in new_options
                if _widens(_kinds(option), _kinds(candidate)) or not _kinds(candidate)
            ]
            if not candidates:
                problems.append(f"{_name(path)} no longer accepts {_describe(option)}")
            else:
                closest = min(candidates, key=len)
                problems.extend(closest)
        return problems

    def _compare_one(self, old: JsonSchema, new: JsonSchema, path: str) -> list[str]:
        problems = _compare_scalar(old, new, path)
        if _is_object(old) or _is_object(new):
            problems.extend(self._compare_object(old, new, path))
        if "items" in old or "items" in new:
            problems.extend(self.compare(old.get("items", {}), new.get("items", {}), f"{path}[]"))
        return problems

    def _compare_object(self, old: JsonSchema, new: JsonSchema, path: str) -> list[str]:
        problems: list[str] = []
        old_properties: dict[str, JsonSchema] = old.get("properties", {})
        new_properties: dict[str, JsonSchema] = new.get("properties", {})
        old_required = set(old.get("required", ()))
        new_required = set(new.get("required", ()))
        for name, old_property in old_properties.items():
            where = _join(path, name)
            if name not in new_properties:
                problems.append(f"property {where} removed")
                continue
            if name in new_required and name not in old_required:
                problems.append(f"property {where} changed from optional to required")
            problems.extend(self.compare(old_property, new_properties[name], where))
        for name in sorted(new_required - old_required - set(old_properties)):
            problems.append(f"new required property {_join(path, name)}")
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            problems.append(f"{_name(path)} no longer allows additional properties")
        elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
            problems.extend(self.compare(old_extra, new_extra, _join(path, "*")))
        elif old_extra is True and isinstance(new_extra, dict) and new_extra:
            problems.append(f"{_name(path)} now restricts the values of additional properties")
        return problems


def _compare_scalar(old: JsonSchema, new: JsonSchema, path: str) -> list[str]:
    where = _name(path)
    old_kinds, new_kinds = _kinds(old), _kinds(new)
    if new_kinds and not _widens(old_kinds, new_kinds):
        was = "/".join(sorted(old_kinds)) or "any type"
        return [f"type of {where} changed from {was} to {'/'.join(sorted(new_kinds))}"]
    problems: list[str] = []
    if "format" in new and old.get("format") != new["format"]:
        was = old.get("format", "no format")
        problems.append(f"format of {where} changed from {was} to {new['format']}")
    old_values, new_values = _allowed_values(old), _allowed_values(new)
    if new_values is not None:
        if old_values is None:
            problems.append(f"{where} is now restricted to {_values(new_values)}")
        elif removed := [value for value in old_values if value not in new_values]:
            problems.append(f"{where} no longer accepts {_values(removed)}")
    for keyword in (*_RAISED_IS_TIGHTER, *_LOWERED_IS_TIGHTER, "pattern", "multipleOf"):
        if keyword not in new:
            continue
        value = new[keyword]
        if keyword not in old:
            problems.append(f"{where} gained the constraint {keyword} {json.dumps(value)}")
        elif keyword in _RAISED_IS_TIGHTER and value > old[keyword]:
            problems.append(f"{keyword} of {where} raised from {old[keyword]} to {value}")
        elif keyword in _LOWERED_IS_TIGHTER and value < old[keyword]:
            problems.append(f"{keyword} of {where} lowered from {old[keyword]} to {value}")
        elif keyword in ("pattern", "multipleOf") and value != old[keyword]:
            was = json.dumps(old[keyword])
            problems.append(f"{keyword} of {where} changed from {was} to {json.dumps(value)}")
    return problems


def _resolve(schema: JsonSchema, document: JsonSchema) -> tuple[JsonSchema, str]:
    """Follow local `$ref`s (and single-entry `allOf` wrappers); siblings of a `$ref` win."""
    refs: list[str] = []
    while True:
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref in refs or not ref.startswith("#/"):
                break
            refs.append(ref)
            target: Any = document
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**target, **siblings}
        elif isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            siblings = {key: value for key, value in schema.items() if key != "allOf"}
            schema = {**schema["allOf"][0], **siblings}
        else:
            break
    return schema, " -> ".join(refs)


def _alternatives(schema: JsonSchema, document: JsonSchema) -> list[JsonSchema]:
    for keyword in ("anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list):
            options: list[JsonSchema] = []
            for option in schema[keyword]:
                resolved, _ = _resolve(option, document)
                options.extend(_alternatives(resolved, document))
            return options
    return [schema]


def _kinds(schema: JsonSchema) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    values = _allowed_values(schema)
    if values is not None:
        return {_json_type(value) for value in values}
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return set()


def _widens(old_kinds: set[str], new_kinds: set[str]) -> bool:
    if not old_kinds:
        return False
    accepted = new_kinds | ({"integer"} if "number" in new_kinds else set())
    return old_kinds <= accepted


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _allowed_values(schema: JsonSchema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if isinstance(schema.get("enum"), list):
        return list(schema["enum"])
    return None


def _is_object(schema: JsonSchema) -> bool:
    return "object" in _kinds(schema)


def _describe(schema: JsonSchema) -> str:
    values = _allowed_values(schema)
    if values is not None:
        return _values(values)
    return "/".join(sorted(_kinds(schema))) or "any value"


def _values(values: list[Any]) -> str:
    return ", ".join(json.dumps(value) for value in values)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _name(path: str) -> str:
    return path or "the event"


# --- checking the checked-in files -----------------------------------------------------------


def drifted_files(directory: Path = SCHEMAS_DIR) -> list[str]:
    """Schema files that are missing or differ from what the current models generate."""
    return [
        name
        for name, schema in export_schemas().items()
        if not (directory / name).is_file() or (directory / name).read_text() != render(schema)
    ]


def incompatibilities(directory: Path = SCHEMAS_DIR) -> list[str]:
    """Breaking changes between each checked-in (published) schema and the current model's."""
    current = export_schemas()
    problems: list[str] = []
    for path in sorted(directory.glob("*.json")):
        label, advice = _label_and_advice(path.name)
        if path.name not in current:
            problems.append(
                f"{label}: the schema is published but no model produces it any more; "
                "keep the model until every consumer has moved to the next version"
            )
            continue
        published = json.loads(path.read_text())
        problems.extend(
            f"{label}: {change}; {advice}"
            for change in breaking_changes(published, current[path.name])
        )
    return problems


def _label_and_advice(file_name: str) -> tuple[str, str]:
    match = _FILE_NAME.match(file_name)
    if match is None:
        return file_name, "every event shares the envelope, so keep it compatible"
    version = int(match["version"])
    return f"{match['type']} v{version}", f"publish it as v{version + 1} instead"


app = typer.Typer(add_completion=False, help="Export and check the JSON Schemas of Sinergi events.")
DirectoryOption = Annotated[
    Path, typer.Option("--directory", help="Where the schema files live.", file_okay=False)
]


@app.command()
def write(directory: DirectoryOption = SCHEMAS_DIR) -> None:
    """Write every event schema file (existing files are overwritten, none removed)."""
    directory.mkdir(parents=True, exist_ok=True)
    schemas = export_schemas()
    for name, schema in schemas.items():
        (directory / name).write_text(render(schema))
    typer.echo(f"wrote {len(schemas)} schema files to {directory}")


@app.command()
def check(directory: DirectoryOption = SCHEMAS_DIR) -> None:
    """Fail if the schema files drifted from the models or a published schema would break."""
    drifted = drifted_files(directory)
    broken = incompatibilities(directory)
    if drifted:
        typer.echo(f"schema files out of date with the models; run `{WRITE_COMMAND}`:", err=True)
        for name in drifted:
            typer.echo(f"  {name}", err=True)
    if broken:
        typer.echo("breaking changes to published event schemas:", err=True)
        for problem in broken:
            typer.echo(f"  {problem}", err=True)
    if drifted or broken:
        raise typer.Exit(code=1)
    typer.echo("event schemas are up to date and compatible")


if __name__ == "__main__":
    app()
