"""Every event type Sinergi publishes, and the one way to build and to read an event."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import Field, TypeAdapter, ValidationError, create_model

from shared.events import agreements, identity, programs
from shared.events.envelope import CloudEvent, EventPayload, new_event_id, utc_now
from shared.observability.redaction import redact

CATALOGUE: dict[tuple[str, int], type[EventPayload]] = {
    (model.event_type, model.version): model
    for model in (*agreements.PAYLOADS, *programs.PAYLOADS, *identity.PAYLOADS)
}
SOURCES: dict[str, str] = {
    **{model.event_type: "sinergi/agreements" for model in agreements.PAYLOADS},
    **{model.event_type: "sinergi/programs" for model in programs.PAYLOADS},
    **{model.event_type: "sinergi/identity" for model in identity.PAYLOADS},
}


def _typed_envelope(model: type[EventPayload]) -> type[CloudEvent]:
    # One model per (type, version) whose constant attributes and payload are checked in a
    # single pass over the JSON: the discriminated union below picks it by `dataschema`.
    constants: dict[str, Any] = {
        "source": (Literal[SOURCES[model.event_type]], ...),
        "type": (Literal[model.event_type], ...),
        "dataschema": (Literal[model.dataschema()], ...),
        "data": (model, ...),
    }
    return create_model(f"{model.__name__}Event", __base__=CloudEvent, **constants)


_TYPED_EVENT_UNION: Any = Annotated[
    Union[tuple(_typed_envelope(model) for model in CATALOGUE.values())],  # noqa: UP007
    Field(discriminator="dataschema"),
]
_TYPED_EVENTS: TypeAdapter[Any] = TypeAdapter(_TYPED_EVENT_UNION)


class InvalidEventError(ValueError):
    """An entry that is not a valid Sinergi event; `code` says which check failed."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def build_event(
    payload: EventPayload,
    *,
    subject: str,
    facility: str,
    sequence: int,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    key = (payload.event_type, payload.version)
    if key not in CATALOGUE:
        raise InvalidEventError("unknown_type", f"{key[0]} v{key[1]} is not in the catalogue")
    event_id = event_id or new_event_id()
    return CloudEvent(
        id=event_id,
        source=SOURCES[payload.event_type],
        type=payload.event_type,
        subject=subject,
        time=time or utc_now(),
        dataschema=payload.dataschema(),
        data=payload.model_dump(mode="json"),
        facility=facility,
        sequence=sequence,
        correlationid=correlation_id or event_id,
        causationid=causation_id,
    )


def parse_event(raw: bytes | str) -> tuple[CloudEvent, EventPayload]:
    """Validate an envelope and its payload against the catalogue; raise InvalidEventError.

    A valid event is read in one pass into a subclass of CloudEvent whose `data` is the
    payload model itself (serialised the same way); anything else goes through the checks
    one by one, to say precisely what is wrong.
    """
    try:
        event = _TYPED_EVENTS.validate_json(raw)
    except ValidationError:
        return _parse_checking_each_step(raw)
    payload: EventPayload = event.data
    return event, payload


def _parse_checking_each_step(raw: bytes | str) -> tuple[CloudEvent, EventPayload]:
    try:
        event = CloudEvent.model_validate_json(raw)
    except ValidationError as error:
        return _raise_invalid("invalid_envelope", error)
    if event.schema_type != event.type:
        raise InvalidEventError(
            "invalid_envelope", f"dataschema names {event.schema_type}, not {event.type}"
        )
    if event.type not in SOURCES:
        raise InvalidEventError("unknown_type", f"{event.type} is not in the catalogue")
    if SOURCES[event.type] != event.source:
        raise InvalidEventError(
            "invalid_envelope", f"{event.type} comes from {SOURCES[event.type]}"
        )
    model = CATALOGUE.get((event.type, event.version))
    if model is None:
        raise InvalidEventError(
            "unknown_version", f"{event.type} v{event.version} is not in the catalogue"
        )
    try:
        payload = model.model_validate(event.data)
    except ValidationError as error:
        return _raise_invalid("invalid_payload", error)
    return event, payload


def _raise_invalid(code: str, error: ValidationError) -> tuple[CloudEvent, EventPayload]:
    # Only field locations and messages: a submitted value could be personal data.
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '(entry)'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)[:5]
    )
    raise InvalidEventError(code, redact(problems)) from None
