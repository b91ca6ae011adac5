"""The NIK keys rotate over the stored rows: an old encryption key can be retired, the look-up
key replaced, and the service finds everyone afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from services.identity.config import IdentitySettings
from services.identity.key_rotation import (
    RotationRefusedError,
    reencrypt_niks,
    rehash_niks,
    tokens_by_key_id,
)
from services.identity.keys import app as keys_app
from services.identity.protection import NikVault, generate_key
from tests.integration.identity.support import (
    AHMAD_NIK,
    RIZKY_NIK,
    SITI_NIK,
    STAFF,
    Api,
    make_settings,
    person,
    running,
)

PEOPLE = [
    person("AI-001/2024", nik=AHMAD_NIK),
    person("AI-002/2024", "Siti Rahmah", nik=SITI_NIK, sex="P", birth_date="1990-07-05",
           mother_name="Halimah"),
    person("AI-003/2024", "Muhammad Rizky", nik=RIZKY_NIK, birth_date="1992-11-20",
           mother_name="Hj. Noor Aisyah"),
    person("AI-004/2024", "Tanpa NIK", nik=None, mother_name="Fatimah"),
]  # fmt: skip


def admit_everyone(settings: IdentitySettings) -> list[str]:
    with running(settings) as client:
        return [Api(client).admit(body) for body in PEOPLE]


def vault_of(settings: IdentitySettings) -> NikVault:
    return NikVault(
        settings.identity_nik_key,
        settings.identity_lookup_key,
        key_id=settings.identity_nik_key_id,
        previous_keys=dict(settings.identity_nik_previous_keys),
    )


def stored_tokens(database_url: str) -> dict[str, bytes]:
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, nik_ciphertext FROM inmate WHERE nik_ciphertext IS NOT NULL")
        ).all()
    engine.dispose()
    return {person_id: bytes(token) for person_id, token in rows}


def test_re_encryption_moves_every_stored_nik_to_the_new_key_so_the_old_one_can_go(
    database_url: str, redis_url: str
) -> None:
    old = make_settings(database_url, redis_url)
    admit_everyone(old)
    new_key = generate_key()
    rotated = old.model_copy(
        update={
            "identity_nik_key": new_key,
            "identity_nik_key_id": 2,
            "identity_nik_previous_keys": {1: old.identity_nik_key},
        }
    )
    engine = sa.create_engine(database_url)

    report = reencrypt_niks(engine, vault_of(rotated))
    again = reencrypt_niks(engine, vault_of(rotated))

    assert (report.examined, report.rewritten, report.changed_meanwhile) == (3, 3, 0)
    assert (again.examined, again.rewritten) == (3, 0)
    assert tokens_by_key_id(engine) == {2: 3}
    only_new_key = NikVault(new_key, old.identity_lookup_key, key_id=2)
    decrypted = {only_new_key.decrypt(token) for token in stored_tokens(database_url).values()}
    assert decrypted == {AHMAD_NIK, SITI_NIK, RIZKY_NIK}
    engine.dispose()


def test_after_re_hashing_the_service_on_the_new_look_up_key_still_finds_duplicates(
    database_url: str, redis_url: str
) -> None:
    old = make_settings(database_url, redis_url)
    [ahmad, *_] = admit_everyone(old)
    new_lookup = old.model_copy(update={"identity_lookup_key": generate_key()})
    engine = sa.create_engine(database_url)

    report = rehash_niks(engine, vault_of(old), vault_of(new_lookup))
    engine.dispose()

    assert (report.examined, report.rewritten) == (3, 3)
    with running(new_lookup) as client:
        response = client.post("/inmates", json=person("AI-099/2024", nik=AHMAD_NIK), headers=STAFF)
    assert response.status_code == 201, response.text
    assert response.json()["possible_duplicates"] == [ahmad]


def test_re_hashing_is_refused_while_a_matching_job_is_running(
    database_url: str, redis_url: str
) -> None:
    settings = make_settings(database_url, redis_url)
    admit_everyone(settings)
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO matching_job (id, facility, purpose, agreement_id, requested_by,"
                " created_at, status, total, sent, done, matched, partial, not_found, invalid,"
                " skipped) VALUES ('job-1', 'rutan-barabai', 'test', 'agreement-1', 'test',"
                " :now, 'running', 3, 0, 0, 0, 0, 0, 0, 0)"
            ),
            {"now": datetime.now(UTC)},
        )
    new_lookup = settings.model_copy(update={"identity_lookup_key": generate_key()})

    with pytest.raises(RotationRefusedError, match="matching job"):
        rehash_niks(engine, vault_of(settings), vault_of(new_lookup))

    assert tokens_by_key_id(engine) == {1: 3}
    engine.dispose()


def test_the_keys_command_reports_counts_per_key_and_never_a_nik(
    database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url, redis_url)
    admit_everyone(settings)
    monkeypatch.setenv("SINERGI_IDENTITY_DATABASE_URL", database_url)
    monkeypatch.setenv("SINERGI_IDENTITY_NIK_KEY", generate_key())
    monkeypatch.setenv("SINERGI_IDENTITY_NIK_KEY_ID", "2")
    monkeypatch.setenv(
        "SINERGI_IDENTITY_NIK_PREVIOUS_KEYS", f'{{"1": "{settings.identity_nik_key}"}}'
    )
    monkeypatch.setenv("SINERGI_IDENTITY_LOOKUP_KEY", settings.identity_lookup_key)
    runner = CliRunner()

    before = runner.invoke(keys_app, ["status"])
    moved = runner.invoke(keys_app, ["reencrypt"])
    after = runner.invoke(keys_app, ["status"])
    unconfirmed = runner.invoke(keys_app, ["rehash"])

    assert before.exit_code == 0, before.output
    assert "key id 1: 3" in before.output and "3 stored NIK(s) under an older key" in before.output
    assert moved.exit_code == 0 and "3 re-encrypted" in moved.output, moved.output
    assert "key id 2 (current): 3" in after.output
    assert "0 stored NIK(s) under an older key" in after.output
    assert unconfirmed.exit_code == 2
    for output in (before.output, moved.output, after.output, unconfirmed.output):
        assert not any(nik in output for nik in (AHMAD_NIK, SITI_NIK, RIZKY_NIK))
