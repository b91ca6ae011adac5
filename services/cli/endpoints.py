"""Where a command finds a service and its key: the options, else a running `sinergi up`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import typer

from services.cli.topology import SECRETS_FILE
from services.cli.up import read_running

DEFAULT_STATE_DIR = Path(".sinergi/up")


@dataclass(frozen=True)
class Endpoint:
    url: str
    api_key: str


def resolve(service: str, url: str | None, api_key: str | None, state_dir: Path) -> Endpoint:
    """``url`` and ``api_key`` as given; what is missing comes from `up`'s state directory."""
    if url is None:
        url = str(read_running(state_dir).get("services", {}).get(service, {}).get("url") or "")
    if not api_key:
        api_key = _stored_staff_key(state_dir)
    if not url:
        raise typer.BadParameter(
            f"no {service} URL: give --{service}-url, or run `sinergi up` with --state-dir "
            f"{state_dir}"
        )
    if not api_key:
        raise typer.BadParameter("no API key: give --api-key (or SINERGI_STAFF_KEY)")
    return Endpoint(url.rstrip("/"), api_key)


def _stored_staff_key(state_dir: Path) -> str:
    try:
        stored = json.loads((state_dir / SECRETS_FILE).read_text())
    except (OSError, ValueError):
        return ""
    return str(stored.get("staff_key") or "") if isinstance(stored, dict) else ""
