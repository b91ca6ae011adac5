"""AsyncAPI 3.0 documents, one per publishing service, generated from the event catalogue.

`python -m shared.events.asyncapi write` regenerates `docs/asyncapi/<service>.json`;
`python -m shared.events.asyncapi check` fails when they drifted from the models. Each
message's payload is the event's JSON Schema from `schema_export` (the whole CloudEvent,
payload in `data`), its `$defs` moved to `components/schemas`; `make asyncapi` validates
the documents with the AsyncAPI project's own parser (`tools/asyncapi/`).
"""

from __future__ import annotations

import json
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.events.catalogue import CATALOGUE, SOURCES
from shared.events.envelope import EventPayload
from shared.events.examples import example_event
from shared.events.schema_export import JsonSchema, event_schema, schema_file_name
from shared.messaging.streams import ENTRY_FIELD, stream_of

ASYNCAPI_VERSION = "3.0.0"
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"
WRITE_COMMAND = "python -m shared.events.asyncapi write"
SCHEMAS_PATH = "shared/events/schemas"

_DEFS_REF = "#/$defs/"
_COMPONENT_SCHEMA_REF = "#/components/schemas/"


def publishing_services() -> list[str]:
    return sorted({source.removeprefix("sinergi/") for source in SOURCES.values()})


def document_file_name(service: str) -> str:
    return f"{service}.json"


def _models_of(service: str) -> list[type[EventPayload]]:
    return [
        model for model in CATALOGUE.values() if SOURCES[model.event_type] == f"sinergi/{service}"
    ]


def _message_key(model: type[EventPayload]) -> str:
    return schema_file_name(model.event_type, model.version).removesuffix(".json")


def _title(event_type: str) -> str:
    _, aggregate, fact = event_type.split(".")
    return f"{aggregate} {fact}".replace("_", " ").capitalize()


def _relocate_refs(node: Any) -> Any:
    """Point `#/$defs/X` at `#/components/schemas/X`, everywhere in `node`."""
    if isinstance(node, dict):
        return {
            key: (
                _COMPONENT_SCHEMA_REF + value.removeprefix(_DEFS_REF)
                if key == "$ref" and isinstance(value, str) and value.startswith(_DEFS_REF)
                else _relocate_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_relocate_refs(item) for item in node]
    return node


def _payload_schema(model: type[EventPayload], shared: dict[str, JsonSchema]) -> JsonSchema:
    """The event's JSON Schema as an AsyncAPI (draft-07 compatible) schema object.

    `$schema` and `$id` go: inside a document they would re-base the references. The URN
    remains as the `const` of `dataschema`.
    """
    schema = dict(event_schema(model))
    definitions: dict[str, JsonSchema] = schema.pop("$defs", {})
    schema.pop("$schema")
    schema.pop("$id")
    for name, definition in definitions.items():
        relocated = _relocate_refs(definition)
        if shared.setdefault(name, relocated) != relocated:
            raise ValueError(f"two event payloads define {name} differently")
    relocated_schema: JsonSchema = _relocate_refs(schema)
    return relocated_schema


def _message(model: type[EventPayload], shared: dict[str, JsonSchema]) -> JsonSchema:
    title = _title(model.event_type)
    example = json.loads(example_event(model.event_type, model.version).to_json())
    return {
        "name": model.event_type,
        "title": f"{title} (v{model.version})",
        "summary": (model.__doc__ or f"{title}.").strip().split("\n\n")[0].replace("\n", " "),
        "description": (
            f"Validate against `{model.dataschema()}`: "
            f"`{SCHEMAS_PATH}/{schema_file_name(model.event_type, model.version)}`."
        ),
        "contentType": "application/json",
        "correlationId": {"$ref": "#/components/correlationIds/correlationid"},
        "tags": [{"name": model.event_type.split(".")[1]}],
        "payload": _payload_schema(model, shared),
        "examples": [{"name": "barabai", "summary": "From the Barabai case.", "payload": example}],
    }


def asyncapi_document(service: str) -> JsonSchema:
    """The AsyncAPI 3.0 document of what `service` publishes on `sinergi.<service>`."""
    models = _models_of(service)
    if not models:
        raise ValueError(f"{service} publishes no event in the catalogue")
    stream = stream_of(service)
    shared: dict[str, JsonSchema] = {}
    messages = {_message_key(model): _message(model, shared) for model in models}
    channel_messages = {key: {"$ref": f"#/components/messages/{key}"} for key in messages}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": f"urn:sinergi:asyncapi:{service}",
        "info": {
            "title": f"Sinergi {service} events",
            "version": distribution_version("sinergi"),
            "description": (
                f"The facts the {service} service publishes on the Redis stream `{stream}`. "
                f"Every entry has one field, `{ENTRY_FIELD}`, holding a CloudEvents 1.0 event "
                "in structured JSON mode; `dataschema` names its JSON Schema, checked in "
                f"under `{SCHEMAS_PATH}/`. Delivery is at least once and not always in "
                "order: de-duplicate by `id` and keep the highest `sequence` seen per "
                "`subject`. Generated by "
                f"`{WRITE_COMMAND}`; do not edit."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {
                "host": "redis:6379",
                "protocol": "redis",
                "description": "Redis of the compose topology (AOF, password): `compose.yaml`.",
                "security": [{"$ref": "#/components/securitySchemes/redisPassword"}],
            },
            "development": {
                "host": "127.0.0.1:6379",
                "protocol": "redis",
                "description": "A local Redis, as `make demo` and `make test` use.",
            },
        },
        "channels": {
            service: {
                "address": stream,
                "title": f"The {service} stream",
                "description": (
                    f"`XADD {stream} * {ENTRY_FIELD} <CloudEvent JSON>`. Subscribe with a "
                    f"consumer group named after your service: `XGROUP CREATE {stream} "
                    "<group> 0 MKSTREAM`, then `XREADGROUP GROUP <group> <consumer> STREAMS "
                    f"{stream} >`, and `XACK` each entry once its effect is stored."
                ),
                "messages": channel_messages,
            }
        },
        "operations": {
            f"publish{service.capitalize()}Events": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{service}"},
                "title": f"The {service} service publishes its events",
                "summary": "Through its outbox: an event is published only if its change commits.",
                "messages": [
                    {"$ref": f"#/channels/{service}/messages/{key}"} for key in channel_messages
                ],
            }
        },
        "components": {
            "messages": messages,
            "schemas": dict(sorted(shared.items())),
            "securitySchemes": {
                "redisPassword": {
                    "type": "userPassword",
                    "description": "Redis AUTH with the password of the deployment.",
                }
            },
            "correlationIds": {
                "correlationid": {
                    "description": "The request or event that started the chain of events.",
                    "location": "$message.payload#/correlationid",
                }
            },
        },
    }


def export_documents() -> dict[str, JsonSchema]:
    return {document_file_name(name): asyncapi_document(name) for name in publishing_services()}


def render(document: JsonSchema) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def drifted_documents(directory: Path = DOCS_DIR) -> list[str]:
    """Documents that are missing, differ from the generated ones, or name no service."""
    expected = {name: render(document) for name, document in export_documents().items()}
    drifted = [
        name
        for name, text in expected.items()
        if not (directory / name).is_file() or (directory / name).read_text() != text
    ]
    strays = [path.name for path in sorted(directory.glob("*.json")) if path.name not in expected]
    return drifted + strays


app = typer.Typer(add_completion=False, help="Write and check the AsyncAPI documents.")
DirectoryOption = Annotated[
    Path, typer.Option("--directory", help="Where the AsyncAPI documents live.", file_okay=False)
]


@app.command()
def write(directory: DirectoryOption = DOCS_DIR) -> None:
    """Write one AsyncAPI document per publishing service."""
    directory.mkdir(parents=True, exist_ok=True)
    documents = export_documents()
    for name, document in documents.items():
        (directory / name).write_text(render(document))
    typer.echo(f"wrote {len(documents)} AsyncAPI documents to {directory}")


@app.command()
def check(directory: DirectoryOption = DOCS_DIR) -> None:
    """Fail if a document drifted from the event models."""
    drifted = drifted_documents(directory)
    if drifted:
        typer.echo(f"AsyncAPI documents out of date; run `{WRITE_COMMAND}`:", err=True)
        for name in drifted:
            typer.echo(f"  {name}", err=True)
        raise typer.Exit(code=1)
    typer.echo("AsyncAPI documents are up to date")


if __name__ == "__main__":
    app()
