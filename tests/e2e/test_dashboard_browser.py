"""The dashboard as a real process, read in a real headless Chromium (Debian's `chromium`).

Facts are XADDed to the three streams; a staff member and a partner log in through the
form; the partner sees only its own agreements; a progress bar shows the realisation; the
pages fit a phone. Screenshots (desktop and phone width) are saved under
`.sinergi/test-artifacts/screenshots/` for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis

from shared.http.auth import hash_api_key
from tests.e2e.processes import json_env, service_process
from tests.infra import free_port
from tests.integration.dashboard.support import (
    IDENTITY_STREAM,
    OTHER_PARTNER,
    TODAY,
    World,
    add_dead_letter,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".sinergi" / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("SINERGI_TEST_CHROMIUM", "/usr/bin/chromium")
STAFF_KEY = "e2e-dashboard-staff-key-0123456789abcdef"
PARTNER_KEY = "e2e-dashboard-partner-key-0123456789abcdef"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
REDIS_DB = 10  # apart from the per-test database of tests/conftest.py


def chromium_or_skip() -> str:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass(frozen=True)
class Scene:
    base_url: str
    own_agreement: str
    other_agreement: str
    item: str


def publish_scene(world: World) -> tuple[str, str, str]:
    world.partner("dinkes", "Dinas Kesehatan Kab. Hulu Sungai Tengah")
    world.partner(OTHER_PARTNER, "Dinas Tenaga Kerja")
    own = world.agreement(
        end=TODAY + timedelta(days=45), title="Penyuluhan kesehatan dan pemeriksaan berkala"
    )
    world.agreement(end=date(2026, 12, 31), title="Pelatihan kader kesehatan")
    other = world.agreement(
        partner=OTHER_PARTNER, end=TODAY + timedelta(days=30), title="Pelatihan las"
    )
    world.agreement(status="draft", title="Konseling adiksi")
    item = world.item(own, target=12, description="Penyuluhan kesehatan bulanan")
    world.realise(item, 9)
    second = world.item(own, target=4, description="Pemeriksaan kesehatan berkala")
    world.realise(second, 5)
    world.item(other, target=20, description="Pelatihan las listrik")
    world.session_held(own)
    for n, status in enumerate(["validated", "validated", "unverified", "not_found", "missing"]):
        world.admit(f"Warga Binaan {n}", nik_status=status)  # type: ignore[arg-type]
    add_dead_letter(
        world.streams,
        stream=IDENTITY_STREAM,
        group="programs",
        reason_code="invalid_payload",
        reason="inmate.nik_status: input should be a valid status",
    )
    return own, other, item


@pytest.fixture(scope="module")
def scene(redis_base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """One dashboard process for the module's tests, on an emptied Redis database."""
    chromium_or_skip()
    redis_url = redis_base_url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    tmp_path = tmp_path_factory.mktemp("dashboard-browser")
    streams = redis.Redis.from_url(redis_url)
    streams.flushdb()
    world = World(streams)
    own, other, item = publish_scene(world)
    keys = json_env(
        [
            {"name": "petugas-barabai", "role": "staff", "sha256": hash_api_key(STAFF_KEY)},
            {"name": "dinkes", "role": "partner", "partner": "dinkes",
             "sha256": hash_api_key(PARTNER_KEY)},
        ]
    )  # fmt: skip
    env = {
        "SINERGI_ENVIRONMENT": "test",
        "SINERGI_REDIS_URL": redis_url,
        "SINERGI_TODAY": TODAY.isoformat(),
        "SINERGI_DASHBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'dashboard.db'}",
        "SINERGI_DASHBOARD_API_KEYS": keys,
        "SINERGI_DASHBOARD_SESSION_SECRET": "e2e-dashboard-session-secret",
        "SINERGI_CONSUMER_NAME": "dashboard-e2e",
        "SINERGI_BLOCK_MS": "100",
        "SINERGI_MONITOR_INTERVAL_S": "0.5",
    }
    try:
        with service_process(
            "services.dashboard", port=free_port(), env=env, log_dir=tmp_path
        ) as dashboard:
            world.settle()
            yield Scene(dashboard.base_url, own, other, item)
            assert dashboard.stop() == 0
    finally:
        streams.flushdb()
        streams.close()


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/agreements")
    assert page.url.endswith("/login"), page.url
    page.fill("#api_key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/agreements")


def fits_the_width(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def test_staff_read_every_page_in_bahasa_indonesia_on_a_desktop(
    browser: Browser, scene: Scene
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="id-ID")
    page = context.new_page()
    try:
        log_in(page, scene.base_url, STAFF_KEY)
        assert page.locator("h1").inner_text() == "Perjanjian kerja sama"
        assert page.locator('li[data-status="active"] .count').inner_text() == "3"
        expiring = page.locator('[data-testid="expiring"] tbody tr')
        assert expiring.count() == 2
        shot(page, "desktop-agreements")

        page.click("text=Rencana aksi")
        bar = page.locator(f'li[data-item="{scene.item}"] progress.realisation')
        assert bar.get_attribute("value") == "75"
        assert bar.evaluate("element => element.value") == 75
        assert "9 dari 12 kegiatan" in page.locator(f'li[data-item="{scene.item}"]').inner_text()
        shot(page, "desktop-action-plans")

        page.click("text=Status NIK")
        assert (
            page.locator(
                'tr[data-facility="rutan-barabai"] td[data-status="validated"]'
            ).inner_text()
            == "2"
        )
        shot(page, "desktop-nik")

        page.click("text=Operasional")
        assert page.locator('[data-testid="dead-letter-count"]').inner_text() == (
            "Jumlah pesan gagal: 1"
        )
        assert page.locator('tr[data-group="dashboard"]').count() == 3
        shot(page, "desktop-operations")

        page.goto(f"{scene.base_url}/agreements?lang=en")
        assert page.locator("h1").inner_text() == "Cooperation agreements"
        shot(page, "desktop-agreements-en")
    finally:
        context.close()


def test_a_partner_on_a_phone_sees_only_its_own_agreements(browser: Browser, scene: Scene) -> None:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="id-ID"
    )
    page = context.new_page()
    try:
        log_in(page, scene.base_url, PARTNER_KEY)
        content = page.content()
        assert scene.own_agreement in content
        assert scene.other_agreement not in content
        assert "Dinas Tenaga Kerja" not in content
        assert page.locator('[data-testid="who"]').inner_text().endswith("(mitra dinkes)")
        assert page.locator('nav a[href="/nik"]').count() == 0
        assert fits_the_width(page), "the agreements page scrolls sideways at 390px"
        shot(page, "phone-agreements")

        page.click("text=Rencana aksi")
        assert page.locator("section.plan").count() == 1
        bar = page.locator(f'li[data-item="{scene.item}"] progress.realisation')
        assert bar.get_attribute("value") == "75"
        assert bar.bounding_box() is not None and bar.bounding_box()["width"] > 150  # type: ignore[index]
        assert fits_the_width(page), "the action plans page scrolls sideways at 390px"
        shot(page, "phone-action-plans")

        response = page.goto(f"{scene.base_url}/nik")
        assert response is not None and response.status == 403
        assert "tidak tersedia" in page.content()
    finally:
        context.close()


def test_staff_on_a_phone_read_the_nik_and_operations_pages_without_sideways_scrolling(
    browser: Browser, scene: Scene
) -> None:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="id-ID"
    )
    page = context.new_page()
    try:
        log_in(page, scene.base_url, STAFF_KEY)
        for path, name in (("/nik", "phone-nik"), ("/operations", "phone-operations")):
            page.goto(scene.base_url + path)
            assert fits_the_width(page), f"{path} scrolls sideways at 390px"
            shot(page, name)
        assert page.locator('[data-testid="dead-letter-count"]').is_visible()
    finally:
        context.close()
