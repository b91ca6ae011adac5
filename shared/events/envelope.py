"""The CloudEvents 1.0 envelope (structured JSON mode) that every Sinergi event travels in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

EVENT_TYPE_PATTERN = r"^sinergi\.[a-z][a-z_]*\.[a-z][a-z_]*$"
DATASCHEMA_PREFIX = "urn:sinergi:schema:"


class CloudEvent(BaseModel):
    """A fact published by a Sinergi service; `data` holds the payload of `type` at `dataschema`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=64)
    source: str = Field(pattern=r"^sinergi/[a-z_]+$")
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    subject: str = Field(min_length=1, max_length=128)
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str = Field(pattern=r"^urn:sinergi:schema:[a-z_.]+:v[0-9]+$")
    data: dict[str, Any]
    facility: str = Field(min_length=1, max_length=64)
    sequence: int = Field(
        ge=1, strict=True, description="The version of the aggregate named by `subject`."
    )
    correlationid: str = Field(min_length=1, max_length=64)
    causationid: str | None = Field(default=None, max_length=64)

    @field_serializer("time")
    def _utc_z(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def to_json(self) -> str:
        """The structured-mode JSON; an absent optional attribute is left out, not null."""
        return self.model_dump_json(exclude={"causationid"} if self.causationid is None else None)

    @property
    def schema_type(self) -> str:
        return self.dataschema.removeprefix(DATASCHEMA_PREFIX).rsplit(":v", 1)[0]

    @property
    def version(self) -> int:
        return int(self.dataschema.rsplit(":v", 1)[1])


class EventPayload(BaseModel):
    """Base of every event payload: frozen, versioned, tolerant of fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def dataschema(cls) -> str:
        return f"{DATASCHEMA_PREFIX}{cls.event_type}:v{cls.version}"


def new_event_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> datetime:
    return datetime.now(UTC)
