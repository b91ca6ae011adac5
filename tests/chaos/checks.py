"""After the load: wait for it to drain, then check every effect exists exactly once.

Each check returns a list of problems (empty: passed), named so a trial can report which
checks passed. The databases are read directly: these are the services' own records.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import redis
from sqlalchemy import Engine, text

from shared.messaging.streams import DEADLETTER_STREAM, ENTRY_FIELD
from tests.chaos.cluster import REPLICATED, Databases
from tests.chaos.load import Ledger, Seeded
from tests.privacy import PrivacyScanner, known_test_niks

DRAIN_TIMEOUT_S = 300.0


@dataclass
class Drained:
    seconds: float
    groups: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (pending, lag)
    unpublished: dict[str, int] = field(default_factory=dict)
    job_status: str = ""


def _groups(client: redis.Redis) -> dict[str, tuple[int, int]]:
    states: dict[str, tuple[int, int]] = {}
    for key in client.scan_iter(_type="STREAM"):
        stream = key.decode()
        last = client.xinfo_stream(stream)["last-generated-id"].decode()
        for info in client.xinfo_groups(stream):
            name = f"{stream}/{info['name'].decode()}"
            lag = info.get("lag")
            delivered = info["last-delivered-id"].decode()
            behind = int(lag) if lag is not None else int(delivered != last)
            states[name] = (int(info["pending"]), behind)
    return states


def _heads(client: redis.Redis) -> dict[str, str]:
    """Each stream's last id: what has been published so far."""
    return {
        key.decode(): client.xinfo_stream(key)["last-generated-id"].decode()
        for key in client.scan_iter(_type="STREAM")
    }


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def wait_drained(
    redis_url: str, databases: Databases, job_id: str, timeout_s: float = DRAIN_TIMEOUT_S
) -> Drained:
    """Lag 0 and nothing pending in every group, every outbox published, the job finished.

    One quiet poll is not enough: an outbox can publish between the read of the groups and
    the read of the outboxes, leaving an entry no group has read yet. Quiet twice in a row
    with every stream's last id unchanged in between is drained.
    """
    client = redis.Redis.from_url(redis_url)
    started = time.monotonic()
    quiet_at: dict[str, str] | None = None
    try:
        while True:
            heads = _heads(client)
            groups = _groups(client)
            unpublished = {
                s: int(_scalar(databases.engine(s), "SELECT count(*) FROM outbox "
                               "WHERE published_at IS NULL"))
                for s in REPLICATED
            }  # fmt: skip
            job = "SELECT status FROM matching_job WHERE id = :id"
            status = str(_scalar(databases.engine("identity"), job, id=job_id))
            busy = any(p or lag for p, lag in groups.values()) or any(unpublished.values())
            quiet = not busy and status != "running"
            if (quiet and quiet_at == heads) or time.monotonic() - started > timeout_s:
                return Drained(time.monotonic() - started, groups, unpublished, status)
            quiet_at = heads if quiet else None
            time.sleep(0.5)
    finally:
        client.close()


def drain_problems(drained: Drained) -> list[str]:
    problems = [
        f"{g}: {p} pending, lag {lag}" for g, (p, lag) in drained.groups.items() if p or lag
    ]
    problems += [f"{s} outbox: {n} unpublished" for s, n in drained.unpublished.items() if n]
    if drained.job_status != "completed":
        problems.append(f"matching job {drained.job_status}")
    return problems


def programs_problems(engine: Engine, ledger: Ledger) -> list[str]:
    """Each accepted session and sale exists once, with what was sent; no more than could."""
    problems: list[str] = []
    sessions = {r[0]: r[1] for r in _rows(engine, "SELECT id, status FROM programme_session")}
    attendance = Counter(r[0] for r in _rows(engine, "SELECT session_id FROM session_attendance"))
    for session_id, body in ledger.sessions.items():
        if session_id not in sessions:
            problems.append(f"accepted session {session_id} missing")
        elif attendance[session_id] != len(body["attendance"]):
            problems.append(f"session {session_id}: {attendance[session_id]} attendees, "
                            f"sent {len(body['attendance'])}")  # fmt: skip
    extra = len(sessions) - len(ledger.sessions)
    if not 0 <= extra <= ledger.unknown_sessions:
        problems.append(f"{len(sessions)} sessions stored for {len(ledger.sessions)} accepted "
                        f"and {ledger.unknown_sessions} of unknown fate")  # fmt: skip
    sales = {r[0] for r in _rows(engine, "SELECT id FROM sale")}
    missing_sales = [s for s in ledger.sales if s not in sales]
    problems += [f"accepted sale {s} missing" for s in missing_sales[:20]]
    extra_sales = len(sales) - len(ledger.sales)
    if not 0 <= extra_sales <= ledger.unknown_sales:
        problems.append(f"{len(sales)} sales stored for {len(ledger.sales)} accepted "
                        f"and {ledger.unknown_sales} of unknown fate")  # fmt: skip
    return problems


def stored_counts(programs: Engine) -> dict[str, int]:
    return {
        "sessions": int(_scalar(programs, "SELECT count(*) FROM programme_session")),
        "sales": int(_scalar(programs, "SELECT count(*) FROM sale")),
    }


def job_seconds(identity: Engine, job_id: str) -> float:
    created, finished = _rows(
        identity, "SELECT created_at, finished_at FROM matching_job WHERE id = :id", id=job_id
    )[0]
    return (finished - created).total_seconds() if finished is not None else -1.0


def realisation_problems(programs: Engine, agreements: Engine, seeded: Seeded) -> list[str]:
    """Every held session's contribution is in the agreements service once, and nothing else."""
    counselling = seeded.ids.items[("pks-2023-kesehatan", "konseling-narkoba")]
    expected: dict[str, tuple[str, int]] = {}
    rows = _rows(programs, "SELECT s.id, s.action_plan_item_id, count(a.person_id) "
                 "FROM programme_session s LEFT JOIN session_attendance a ON a.session_id = s.id "
                 "WHERE s.status = 'held' GROUP BY s.id, s.action_plan_item_id")  # fmt: skip
    for session_id, item_id, people in rows:
        expected[session_id] = (item_id, int(people) if item_id == counselling else 1)
    realised = {
        r[0]: (r[1], int(r[2]))
        for r in _rows(agreements, "SELECT session_id, item_id, quantity FROM realisation")
    }
    problems = [
        f"session {s}: agreements has {realised.get(s)}, programs implies {want}"
        for s, want in expected.items()
        if realised.get(s) != want
    ]
    problems += [f"realisation of unknown session {s}" for s in realised.keys() - expected.keys()]
    by_item: Counter[str] = Counter()
    for item_id, quantity in expected.values():
        by_item[item_id] += quantity
    stored = {
        r[0]: int(r[1])
        for r in _rows(
            agreements, "SELECT item_id, sum(quantity) FROM realisation GROUP BY item_id"
        )
    }
    problems += [
        f"item {item}: agreements realised {stored.get(item, 0)}, sessions imply {quantity}"
        for item, quantity in by_item.items()
        if stored.get(item, 0) != quantity
    ]
    return problems[:50]


def people_problems(identity: Engine, programs: Engine, job_id: str) -> list[str]:
    """One result per person in the job, the job's tallies equal to them, and every person
    of the roster known to programs once."""
    problems: list[str] = []
    items = _rows(identity, "SELECT person_id, state, outcome FROM matching_item "
                  "WHERE job_id = :id", id=job_id)  # fmt: skip
    not_done = [p for p, state, outcome in items if state != "done" or outcome is None]
    problems += [f"matching item of {p} not done" for p in not_done[:20]]
    outcomes = Counter(str(outcome) for _, _, outcome in items)
    job = _rows(identity, "SELECT total, done, matched, partial, not_found, invalid, skipped "
                "FROM matching_job WHERE id = :id", id=job_id)[0]  # fmt: skip
    total, done, *tallies = (int(v) for v in job)
    names = ("matched", "partial", "not_found", "invalid", "skipped")
    if total != len(items) or done != len(items):
        problems.append(f"job total {total}, done {done}, items {len(items)}")
    for name, tally in zip(names, tallies, strict=True):
        if tally != outcomes.get(name, 0):
            problems.append(f"job counts {tally} {name}, items say {outcomes.get(name, 0)}")
    batches = _rows(identity, "SELECT count(*) FROM matching_batch WHERE job_id = :id "
                    "AND state <> 'done'", id=job_id)[0][0]  # fmt: skip
    if batches:
        problems.append(f"{batches} matching batches not done")
    inmates = int(_scalar(identity, "SELECT count(*) FROM inmate"))
    viewed = int(_scalar(programs, "SELECT count(*) FROM inmate_view"))
    if inmates != viewed:
        problems.append(f"identity has {inmates} people, programs' view {viewed}")
    return problems


def redis_problems(redis_url: str) -> list[str]:
    client = redis.Redis.from_url(redis_url)
    try:
        problems = []
        for key in client.scan_iter(_type="STREAM"):
            stream = key.decode()
            for info in client.xinfo_groups(stream):
                group = info["name"].decode()
                pending = client.xpending(stream, group)["pending"]
                if pending:
                    problems.append(f"XPENDING {stream} {group}: {pending}")
        dead = int(client.xlen(DEADLETTER_STREAM)) if client.exists(DEADLETTER_STREAM) else 0
        if dead:
            letters = cast(list[tuple[bytes, dict[bytes, bytes]]],
                           client.xrange(DEADLETTER_STREAM, count=5))  # fmt: skip
            for _, fields in letters:
                reason = {k.decode(): v.decode(errors="replace")[:200] for k, v in fields.items()
                          if k != ENTRY_FIELD.encode()}  # fmt: skip
                problems.append(f"dead letter: {reason}")
            problems.append(f"{dead} dead letters (none was injected)")
        return problems
    finally:
        client.close()


def privacy_problems(redis_url: str, log_dir: Path) -> tuple[list[str], int]:
    """NIKs in any log line or stream entry of the trial; also how many texts were scanned."""
    scanner = PrivacyScanner(known=known_test_niks())
    scanner.scan_logs_under(log_dir)
    client = redis.Redis.from_url(redis_url)
    try:
        scanner.scan_streams(client)
    finally:
        client.close()
    return [str(leak) for leak in scanner.leaks[:20]], sum(scanner.scanned.values())
