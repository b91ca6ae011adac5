"""The in-memory registry: people by NIK, the changes feed, and batch search answers.

An on-search answer (sync response, async result, callback body)::

    {"header": {"version": "1.0.0", "message_id": <new uuid>, "message_ts": <ISO>,
                "action": "on-search", "status": "succ", "total_count": n,
                "completed_count": n, "sender_id": "dukcapil", "receiver_id": <client>,
                "is_msg_encrypted": false},
     "message": {"transaction_id": <caller's>, "correlation_id": <ours>,
                 "search_response": [
                    {"reference_id": ..., "timestamp": ..., "status": "succ",
                     "data": {"nik_found": true, "alive": true,
                              "verification": {"name": "SESUAI", ...}}},
                    {"reference_id": ..., "timestamp": ..., "status": "succ",
                     "data": {"nik_found": false}},
                    {"reference_id": ..., "timestamp": ..., "status": "rjct",
                     "status_reason_code": "rjct.nik.invalid",
                     "status_reason_message": "..."}]}}

Never any population data: only existence, alive, and SESUAI / TIDAK SESUAI per element.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.civil_registry.matching import (
    ItemRejected,
    is_structurally_valid_nik,
    verify,
)
from services.civil_registry.population import Person
from services.civil_registry.schemas import SearchItem, SearchRequest

__all__ = ["Change", "Registry", "UnknownNik", "now_iso"]

QUERY_TYPE = "idtype-value"
ID_TYPE = "NIK"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class UnknownNik(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Change:
    cursor: int
    nik: str
    change: str
    fields: tuple[str, ...]
    at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "nik": self.nik,
            "change": self.change,
            "fields": list(self.fields),
            "at": self.at,
        }


class Registry:
    def __init__(self, people: dict[str, Person], registry_id: str = "dukcapil") -> None:
        self._people = people
        self._changes: list[Change] = []
        self.registry_id = registry_id

    def __len__(self) -> int:
        return len(self._people)

    def person(self, nik: str) -> Person | None:
        """The current record (tests and admin tooling; never sent to a client)."""
        return self._people.get(nik)

    # -- search -------------------------------------------------------------------------

    def answer_items(
        self, items: Sequence[SearchItem], timestamp: str
    ) -> tuple[list[dict[str, Any]], Counter[str]]:
        """One response per item, in order, and the outcome counts (found/not_found/...)."""
        people = self._people
        outcomes: Counter[str] = Counter()
        answers: list[dict[str, Any]] = []
        seen_refs: set[str] = set()
        for item in items:
            reference_id = item.reference_id
            try:
                if reference_id in seen_refs:
                    raise ItemRejected(
                        "rjct.reference_id.duplicate", "reference_id repeated in this batch"
                    )
                seen_refs.add(reference_id)
                criteria = item.search_criteria
                if criteria.query_type != QUERY_TYPE or criteria.query.type != ID_TYPE:
                    raise ItemRejected(
                        "rjct.search_criteria.invalid",
                        f'only query_type "{QUERY_TYPE}" with query.type "{ID_TYPE}"',
                    )
                nik = criteria.query.value
                if not is_structurally_valid_nik(nik):
                    raise ItemRejected("rjct.nik.invalid", "not a structurally valid NIK")
                person = people.get(nik)
                if person is None:
                    data: dict[str, Any] = {"nik_found": False}
                    outcomes["not_found"] += 1
                else:
                    data = {"nik_found": True, "alive": person.alive}
                    if criteria.verify is not None:
                        data["verification"] = verify(person, criteria.verify.__dict__)
                    outcomes["found"] += 1
                answers.append(
                    {
                        "reference_id": reference_id,
                        "timestamp": timestamp,
                        "status": "succ",
                        "data": data,
                    }
                )
            except ItemRejected as rejected:
                outcomes["rejected"] += 1
                answers.append(
                    {
                        "reference_id": reference_id,
                        "timestamp": timestamp,
                        "status": "rjct",
                        "status_reason_code": rejected.code,
                        "status_reason_message": rejected.message,
                    }
                )
        return answers, outcomes

    def on_search(
        self, request: SearchRequest, client: str, correlation_id: str
    ) -> tuple[dict[str, Any], Counter[str]]:
        """The full on-search message for a search request."""
        timestamp = now_iso()
        answers, outcomes = self.answer_items(request.message.search_request, timestamp)
        body = {
            "header": {
                "version": request.header.version,
                "message_id": str(uuid.uuid4()),
                "message_ts": timestamp,
                "action": "on-search",
                "status": "succ",
                "total_count": len(answers),
                "completed_count": len(answers),
                "sender_id": self.registry_id,
                "receiver_id": client,
                "is_msg_encrypted": False,
            },
            "message": {
                "transaction_id": request.message.transaction_id,
                "correlation_id": correlation_id,
                "search_response": answers,
            },
        }
        return body, outcomes

    # -- changes ------------------------------------------------------------------------

    def apply_change(
        self, nik: str, change: str, fields: Sequence[str], new_values: Mapping[str, str]
    ) -> Change:
        """Apply a death or a correction to the person and append it to the feed.

        Raises ``UnknownNik``, or ``ValueError`` for a correction without its values.
        """
        person = self._people.get(nik)
        if person is None:
            raise UnknownNik()
        if change == "death":
            updated = dataclasses.replace(person, alive=False)
            changed: tuple[str, ...] = ("alive",)
        else:
            if not fields:
                raise ValueError("a correction names at least one field")
            missing = [name for name in fields if name not in new_values]
            if missing:
                raise ValueError(f"new_values lacks {', '.join(missing)}")
            values: dict[str, Any] = {}
            for name in fields:
                raw = new_values[name]
                if name == "birth_date":
                    values[name] = date.fromisoformat(raw.strip())
                elif name == "sex":
                    if raw.strip().upper() not in ("L", "P"):
                        raise ValueError('sex must be "L" or "P"')
                    values[name] = raw.strip().upper()
                else:
                    values[name] = " ".join(raw.upper().split())
            updated = dataclasses.replace(person, **values)
            changed = tuple(dict.fromkeys(fields))
        self._people[nik] = updated
        record = Change(len(self._changes) + 1, nik, change, changed, now_iso())
        self._changes.append(record)
        return record

    def changes_after(self, after: int, limit: int) -> tuple[list[Change], int]:
        """Changes with cursor > ``after`` (at most ``limit``) and the cursor to resume at."""
        start = max(0, after)  # cursor n sits at index n - 1
        page = self._changes[start : start + limit]
        return page, (page[-1].cursor if page else max(0, min(after, len(self._changes))))
