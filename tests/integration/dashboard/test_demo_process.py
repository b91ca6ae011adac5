"""The dashboard as the demo starts it: a child process on a pinned day, with partner logins."""

from __future__ import annotations

from pathlib import Path

import httpx

from services.cli.dashboard_service import (
    DashboardConfig,
    DashboardService,
    PartnerLogin,
    login_lines,
)
from services.cli.topology import Secrets, Topology, TopologyConfig
from tests.integration.dashboard.support import TODAY


def test_the_demo_starts_the_dashboard_and_a_partner_key_opens_its_pages(
    redis_url: str, tmp_path: Path
) -> None:
    partner = PartnerLogin("demo-dinkes", "dinkes")
    config = DashboardConfig(
        state_dir=tmp_path,
        redis_url=redis_url,
        facility="rutan-barabai",
        timezone="Asia/Makassar",
        staff_key="demo-dashboard-staff-key-0123456789",
        partners=(partner,),
    )
    service = DashboardService(config)
    service.start(TODAY)
    try:
        page = httpx.get(config.base_url + "/agreements", headers={"X-API-Key": partner.key})
        assert page.status_code == 200
        assert "mitra dinkes" in page.text
        assert "1 Juni 2024" in page.text  # the pinned day
    finally:
        assert service.stop() == 0
    assert config.base_url in login_lines(config)[0]


def test_the_topology_gives_the_dashboard_its_language_and_a_plain_http_cookie(
    tmp_path: Path,
) -> None:
    config = TopologyConfig(
        state_dir=tmp_path, redis_url="redis://127.0.0.1:1/0", secrets=Secrets.generate()
    )
    env = Topology(config).environment("dashboard")

    assert env["SINERGI_LANGUAGE"] in ("id", "en")
    assert env["SINERGI_DASHBOARD_COOKIE_SECURE"] == "false"
    assert env["SINERGI_DASHBOARD_DATABASE_URL"].startswith("sqlite:///")
