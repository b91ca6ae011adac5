"""Rotating the NIK keys over the stored rows.

- Re-encryption moves every stored token to the current encryption key, so an old key can
  be removed from ``SINERGI_IDENTITY_NIK_PREVIOUS_KEYS``. It runs beside the live service:
  each row is rewritten only if its token is still the one read (a NIK changed meanwhile is
  left alone, already under the current key), and nothing else about the person changes.
- Re-hashing recomputes every look-up hash under a new look-up key. The running service
  finds people and duplicates by those hashes, and running matching jobs carry them, so it
  runs with the identity service stopped and refuses while a matching job is running.

Both work in batches of one transaction each, are safe to run again, and report counts only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, select, update
from sqlmodel import col

from services.identity.orm import InmateRow, MatchingJobRow
from services.identity.protection import NikVault

BATCH_SIZE = 1000
_INMATE = InmateRow.__table__  # type: ignore[attr-defined]


class RotationRefusedError(RuntimeError):
    """The rotation cannot run now; the message says why and what to do."""


@dataclass(frozen=True)
class RotationReport:
    examined: int  # rows holding an encrypted NIK
    rewritten: int
    changed_meanwhile: int  # rows whose token changed between read and write: left as they are


def tokens_by_key_id(engine: Engine) -> dict[int, int]:
    """How many stored NIK tokens each encryption key id holds."""
    counts: Counter[int] = Counter()
    for _, token, _ in _tokens(engine):
        counts[NikVault.key_id_of(token)] += 1
    return dict(sorted(counts.items()))


def reencrypt_niks(
    engine: Engine, vault: NikVault, *, on_batch: Callable[[int], None] | None = None
) -> RotationReport:
    """Every token not under ``vault``'s current key, decrypted and encrypted again under it."""
    return _rewrite(
        engine,
        lambda token, _hash: (
            {"nik_ciphertext": vault.reencrypt(token)} if vault.needs_reencryption(token) else None
        ),
        on_batch,
    )


def rehash_niks(
    engine: Engine,
    vault: NikVault,
    rehasher: NikVault,
    *,
    on_batch: Callable[[int], None] | None = None,
) -> RotationReport:
    """Every look-up hash recomputed by ``rehasher`` (the new look-up key); ``vault`` decrypts."""
    running = _running_jobs(engine)
    if running:
        raise RotationRefusedError(
            f"{running} matching job(s) are running and carry look-up hashes: let them finish "
            "(or cancel them) and stop the identity service before re-hashing"
        )

    def change(token: bytes, old_hash: str | None) -> dict[str, object] | None:
        new_hash = rehasher.lookup_hash(vault.decrypt(token))
        return None if new_hash == old_hash else {"nik_hash": new_hash}

    return _rewrite(engine, change, on_batch)


def _rewrite(
    engine: Engine,
    change: Callable[[bytes, str | None], dict[str, object] | None],
    on_batch: Callable[[int], None] | None,
) -> RotationReport:
    examined = rewritten = changed_meanwhile = 0
    for batch in _batches(_tokens(engine)):
        with engine.begin() as connection:
            for person_id, token, lookup_hash in batch:
                values = change(token, lookup_hash)
                if values is None:
                    continue
                still_same = and_(_INMATE.c.id == person_id, _INMATE.c.nik_ciphertext == token)
                result = connection.execute(update(_INMATE).where(still_same).values(**values))
                if result.rowcount == 1:
                    rewritten += 1
                else:
                    changed_meanwhile += 1
        examined += len(batch)
        if on_batch is not None:
            on_batch(len(batch))
    return RotationReport(examined, rewritten, changed_meanwhile)


def count_tokens(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).where(_INMATE.c.nik_ciphertext.is_not(None))
        return int(connection.execute(query).scalar_one())


def _tokens(engine: Engine) -> Iterator[tuple[str, bytes, str | None]]:
    """(person id, token, look-up hash) of every row with a NIK, in id order, page by page."""
    after = ""
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                select(_INMATE.c.id, _INMATE.c.nik_ciphertext, _INMATE.c.nik_hash)
                .where(_INMATE.c.nik_ciphertext.is_not(None), _INMATE.c.id > after)
                .order_by(_INMATE.c.id)
                .limit(BATCH_SIZE)
            ).all()
        if not rows:
            return
        for person_id, token, lookup_hash in rows:
            yield person_id, bytes(token), lookup_hash
        after = rows[-1][0]


def _batches(
    rows: Iterator[tuple[str, bytes, str | None]],
) -> Iterator[list[tuple[str, bytes, str | None]]]:
    batch: list[tuple[str, bytes, str | None]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _running_jobs(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).where(col(MatchingJobRow.status) == "running")
        return int(connection.execute(query).scalar_one())
