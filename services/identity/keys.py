"""`python -m services.identity.keys status|reencrypt|rehash`: rotate the NIK keys.

Reads the identity service's own settings (`SINERGI_IDENTITY_*`), so it runs in the identity
image with the service's environment. See docs/operations.md, "Rotate keys and passwords".
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from services.identity.config import IdentitySettings
from services.identity.key_rotation import (
    RotationRefusedError,
    RotationReport,
    count_tokens,
    reencrypt_niks,
    rehash_niks,
    tokens_by_key_id,
)
from services.identity.protection import NikProtectionError, NikVault
from shared.persistence.engine import make_engine

NEW_LOOKUP_KEY_VARIABLE = "SINERGI_IDENTITY_NEW_LOOKUP_KEY"

app = typer.Typer(name="keys", help="Rotate the keys protecting stored NIKs.", no_args_is_help=True)


def _settings_and_vault() -> tuple[IdentitySettings, NikVault]:
    settings = IdentitySettings()
    vault = NikVault(
        settings.identity_nik_key,
        settings.identity_lookup_key,
        key_id=settings.identity_nik_key_id,
        previous_keys=dict(settings.identity_nik_previous_keys),
    )
    return settings, vault


def _print(report: RotationReport, verb: str) -> None:
    typer.echo(
        f"{report.examined} stored NIK(s) examined, {report.rewritten} {verb}, "
        f"{report.changed_meanwhile} changed meanwhile (already current; run again to check)"
    )


@app.command()
def status() -> None:
    """How many stored NIKs each encryption key id holds."""
    settings, vault = _settings_and_vault()
    engine = make_engine(settings.identity_database_url)
    counts = tokens_by_key_id(engine)
    for key_id, count in counts.items():
        mark = " (current)" if key_id == vault.key_id else ""
        typer.echo(f"key id {key_id}{mark}: {count}")
    stale = sum(count for key_id, count in counts.items() if key_id != vault.key_id)
    typer.echo(f"{stale} stored NIK(s) under an older key")


@app.command()
def reencrypt() -> None:
    """Move every stored NIK to the current key (SINERGI_IDENTITY_NIK_KEY_ID); safe while live."""
    settings, vault = _settings_and_vault()
    engine = make_engine(settings.identity_database_url)
    total = count_tokens(engine)
    try:
        with typer.progressbar(length=total, label="re-encrypting") as bar:
            report = reencrypt_niks(engine, vault, on_batch=bar.update)
    except NikProtectionError as error:
        typer.echo(f"reencrypt: {error}", err=True)
        raise typer.Exit(1) from None
    _print(report, "re-encrypted")


@app.command()
def rehash(
    confirm_stopped: Annotated[
        bool,
        typer.Option(
            "--service-stopped",
            help="Confirm that no identity service process is running against this database.",
        ),
    ] = False,
) -> None:
    """Recompute every look-up hash under the key in SINERGI_IDENTITY_NEW_LOOKUP_KEY."""
    if not confirm_stopped:
        typer.echo(
            "rehash: stop every identity replica first, then run again with --service-stopped",
            err=True,
        )
        raise typer.Exit(2)
    new_key = os.environ.get(NEW_LOOKUP_KEY_VARIABLE, "")
    if not new_key:
        typer.echo(f"rehash: set {NEW_LOOKUP_KEY_VARIABLE} to the new look-up key", err=True)
        raise typer.Exit(2)
    settings, vault = _settings_and_vault()
    engine = make_engine(settings.identity_database_url)
    total = count_tokens(engine)
    try:
        rehasher = NikVault(
            settings.identity_nik_key,
            new_key,
            key_id=settings.identity_nik_key_id,
            previous_keys=dict(settings.identity_nik_previous_keys),
        )
        with typer.progressbar(length=total, label="re-hashing") as bar:
            report = rehash_niks(engine, vault, rehasher, on_batch=bar.update)
    except (NikProtectionError, RotationRefusedError) as error:
        typer.echo(f"rehash: {error}", err=True)
        raise typer.Exit(1) from None
    _print(report, "re-hashed")
    typer.echo(
        f"now set SINERGI_IDENTITY_LOOKUP_KEY to the value of {NEW_LOOKUP_KEY_VARIABLE} "
        "and start the identity service"
    )


if __name__ == "__main__":
    app()
