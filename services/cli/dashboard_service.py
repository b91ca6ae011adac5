"""The dashboard for the demo: its logins, its action-plan figures, and a lone process.

The dashboard's settings live in :mod:`services.cli.topology` (:data:`DASHBOARD`), as for
every service; the demo runs it with the others through the topology. :class:`DashboardService`
starts it alone, beside services started otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx

from services.cli.processes import free_port
from services.cli.supervisor import ProcessTopology, ServiceFailedError
from services.cli.topology import (
    DASHBOARD,
    DASHBOARD_LANGUAGES,
    ApiKey,
    Secrets,
    Topology,
    TopologyConfig,
    dashboard_language,
)
from shared.http.auth import API_KEY_HEADER, Role, generate_api_key

NAME = "dashboard"
READY_TIMEOUT_S = 45.0
LANGUAGES = DASHBOARD_LANGUAGES
DEFINITION = DASHBOARD
# One item's bar on /action-plans?lang=en: its id, then "<realised> of <target> <unit>".
_BAR = re.compile(r'data-item="([^"]+)".*?<div class="muted small">([\d,]+) of ', re.DOTALL)
# One cell of the /nik table: the status, then how many people have it.
_NIK_CELL = re.compile(r'data-status="([a-z_]+)">([\d,]+)<')


def language() -> str:
    """`SINERGI_LANGUAGE` of whoever runs the command line, if it names a known language."""
    return dashboard_language()


def realised_on_action_plans(base_url: str, api_key: str) -> dict[str, int]:
    """The realised quantity the dashboard shows for every action-plan item, by item id."""
    page = httpx.get(
        f"{base_url}/action-plans",
        params={"lang": "en"},
        headers={API_KEY_HEADER: api_key},
        timeout=10.0,
    )
    return {item: _number(realised) for item, realised in _BAR.findall(_page(page))}


def nik_counts_on_dashboard(base_url: str, api_key: str) -> dict[str, int]:
    """How many people the dashboard's /nik page counts per NIK status."""
    page = httpx.get(
        f"{base_url}/nik", params={"lang": "en"}, headers={API_KEY_HEADER: api_key}, timeout=10.0
    )
    return {status: _number(count) for status, count in _NIK_CELL.findall(_page(page))}


def _page(response: httpx.Response) -> str:
    response.raise_for_status()
    return response.text


def _number(shown: str) -> int:
    return int(shown.replace(",", ""))


@dataclass(frozen=True)
class PartnerLogin:
    name: str
    partner: str
    key: str = field(default_factory=generate_api_key)


@dataclass(frozen=True)
class DashboardConfig:
    state_dir: Path
    redis_url: str
    facility: str
    timezone: str
    staff_key: str
    partners: tuple[PartnerLogin, ...] = ()
    port: int = field(default_factory=free_port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / DEFINITION.log_file

    def topology(self) -> Topology:
        keys = [ApiKey("demo-staff", Role.STAFF, self.staff_key)]
        keys += [ApiKey(p.name, Role.PARTNER, p.key, p.partner) for p in self.partners]
        config = TopologyConfig(
            state_dir=self.state_dir,
            redis_url=self.redis_url,
            secrets=Secrets.generate(),
            facility=self.facility,
            timezone=self.timezone,
            services=(NAME,),
            api_keys=tuple(keys),
            consumer_prefix="demo",
        )
        return Topology(config, ports={NAME: self.port})


class DashboardService:
    """``start(today)`` returns once /health/ready answers; ``stop()`` sends SIGTERM."""

    def __init__(self, config: DashboardConfig) -> None:
        self.config = config
        self._processes = ProcessTopology(config.topology(), ready_timeout_s=READY_TIMEOUT_S)

    @property
    def pid(self) -> int | None:
        return self._processes.pids().get(NAME)

    def start(self, today: date) -> None:
        self._processes.spawn(NAME, {"SINERGI_TODAY": today.isoformat()})
        try:
            self._processes.wait_ready(NAME)
        except ServiceFailedError as error:
            self.stop()
            raise RuntimeError(str(error)) from error

    def stop(self) -> int | None:
        return self._processes.stop_service(NAME)


def login_lines(
    config: DashboardConfig, partners: Sequence[PartnerLogin] = (), lang: str | None = None
) -> list[str]:
    """What the demo prints so a person can open the dashboard (in its language)."""
    english = (lang or language()) == "en"
    lines = [
        (f"Dashboard: {config.base_url}" if english else f"Dasbor: {config.base_url}"),
        (
            f"  staff key: {config.staff_key}"
            if english
            else f"  kunci API petugas: {config.staff_key}"
        ),
    ]
    for login in partners or config.partners:
        label = "partner key" if english else "kunci API mitra"
        lines.append(f"  {label} {login.partner}: {login.key}")
    return lines
