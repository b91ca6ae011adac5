"""`Idempotency-Key` on commands that create a record (draft-ietf-httpapi-idempotency-key-header).

A client that sent a command and lost the answer cannot tell whether it was recorded; with a
key it sends the same command again and gets the first answer back instead of a second
record. The key is remembered with the record, in the same transaction, together with a
fingerprint of the request: the same key with another request is refused (422), and keys are
scoped to the API key that used them, so two partners never see each other's.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from fastapi import Header, Request
from pydantic import BaseModel
from sqlalchemy import Connection, Table, bindparam, insert, select
from sqlmodel import Session

from shared.http.problems import Problem

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# printable ASCII without spaces: a UUID, a ULID or the client's own reference all fit
KEY_PATTERN = r"^[!-~]{1,255}$"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=KEY_HEADER,
        pattern=KEY_PATTERN,
        description="Optional. The same key with the same request returns the first answer "
        "(header `Idempotent-Replayed: true`) instead of recording it again; with another "
        "request it is refused (422). Keys belong to the API key that sent them.",
    ),
]


_KEY = re.compile(KEY_PATTERN)


def idempotency_key(request: Request) -> tuple[str | None, list[dict[str, Any]]]:
    """The header as `IdempotencyKeyHeader` reads it: (the key or None, validation errors)."""
    key = request.headers.get(KEY_HEADER)
    if key is None or _KEY.fullmatch(key):
        return key, []
    error = {
        "type": "string_pattern_mismatch",
        "loc": ("header", KEY_HEADER),
        "msg": f"String should match pattern '{KEY_PATTERN}'",
    }
    return None, [error]


@dataclass(frozen=True)
class IdempotentRequest:
    scope: str  # the API key's name: keys of different clients never meet
    key: str
    fingerprint: str  # SHA-256 of the route and the request body, canonical JSON

    @classmethod
    def of(cls, scope: str, key: str, route: str, body: BaseModel) -> Self:
        canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()
        return cls(scope, key, digest)


class KeyReusedError(Problem):
    def __init__(self) -> None:
        super().__init__(
            422,
            "Idempotency key reused",
            f"this {KEY_HEADER} was used before with a different request; "
            "use a new key for a new command",
        )


class IdempotencyStore:
    """The service's table of keys (columns: scope, key, fingerprint, resource_id,
    created_at), read before a command and written in the command's transaction."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._insert = insert(table)
        self._lookup = select(table.c.fingerprint, table.c.resource_id).where(
            table.c.scope == bindparam("scope"), table.c.key == bindparam("key")
        )

    def recorded(self, connection: Connection, request: IdempotentRequest) -> str | None:
        """The id the first request with this key created; None when the key is new."""
        row = connection.execute(self._lookup, {"scope": request.scope, "key": request.key}).first()
        if row is None:
            return None
        if row.fingerprint != request.fingerprint:
            raise KeyReusedError()
        return str(row.resource_id)

    def remember(self, session: Session, request: IdempotentRequest, resource_id: str) -> None:
        """In the command's transaction: a concurrent twin then fails on the primary key."""
        session.connection().execute(
            self._insert,
            {
                "scope": request.scope,
                "key": request.key,
                "fingerprint": request.fingerprint,
                "resource_id": resource_id,
                "created_at": datetime.now(UTC),
            },
        )
