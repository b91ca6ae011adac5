"""Request bodies, modelled on the DCI (Digital Convergence Initiative) registry search API.

Responses are built as plain dicts on the hot path; their shape is documented in
``registry.py``.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from services.civil_registry.matching import VERIFIABLE_FIELDS

__all__ = [
    "ChangeRequest",
    "FaultConfig",
    "Header",
    "Query",
    "SearchCriteria",
    "SearchItem",
    "SearchMessage",
    "SearchRequest",
    "TxnStatusRequest",
    "Verify",
]

_ID = Field(min_length=1, max_length=128)
Field_ = Literal["name", "birth_place", "birth_date", "mother_name", "sex"]
assert set(get_args(Field_)) == set(VERIFIABLE_FIELDS)


class Header(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str = "1.0.0"
    message_id: str = _ID
    message_ts: str = Field(min_length=1, max_length=64)
    action: Literal["search"]
    sender_id: str = Field(min_length=1, max_length=128)
    receiver_id: str = Field(min_length=1, max_length=128)
    total_count: int = Field(ge=0)
    callback_url: str | None = Field(default=None, pattern=r"^https?://", max_length=2048)


class Query(BaseModel):
    type: str = Field(max_length=32)
    value: str = Field(max_length=64)


class Verify(BaseModel):
    """The elements the caller already holds; only these are answered."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=256)
    birth_place: str | None = Field(default=None, max_length=256)
    birth_date: str | None = Field(default=None, max_length=32, description="YYYY-MM-DD")
    mother_name: str | None = Field(default=None, max_length=256)
    sex: str | None = Field(default=None, max_length=8, description='"L" or "P"')


class SearchCriteria(BaseModel):
    model_config = ConfigDict(extra="allow")

    query_type: str = Field(max_length=32)
    query: Query
    verify: Verify | None = None


class SearchItem(BaseModel):
    reference_id: str = _ID
    timestamp: str | None = Field(default=None, max_length=64)
    search_criteria: SearchCriteria


class SearchMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    transaction_id: str = _ID
    search_request: list[SearchItem] = Field(min_length=1)


class SearchRequest(BaseModel):
    header: Header
    message: SearchMessage


class TxnStatusRequest(BaseModel):
    transaction_id: str = _ID


class FaultConfig(BaseModel):
    """Injected faults; ``PUT /admin/faults`` replaces all of them (missing -> env default)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0, le=600_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="share answered 503")
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="share that hang")
    hang_s: float = Field(default=30.0, ge=0.0, le=3600.0)
    rate_limit_per_s: float | None = Field(
        default=None, gt=0, le=1e9, description="overrides SINERGI_REGISTRY_RATE_LIMIT_PER_S"
    )
    rate_burst: float | None = Field(
        default=None, ge=1, le=2e9, description="bucket size; default 2 x the overriding rate"
    )
    outage: bool = False
    async_delay_ms: int = Field(
        default=0, ge=0, le=600_000, description="simulated processing time of async batches"
    )


class ChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nik: str = Field(pattern=r"^[0-9]{16}$")
    change: Literal["death", "correction"]
    fields: list[Field_] = Field(default_factory=list)
    new_values: dict[Field_, str] | None = None
