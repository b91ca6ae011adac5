"""`sinergi up --database postgres`: one database per service, made once, kept afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from services.cli.up import postgres_database_urls
from tests.infra import DEFAULT_POSTGRES_URL, postgres_available

pytestmark = pytest.mark.postgres
ADMIN_URL = os.environ.get("SINERGI_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture
def prefix() -> Iterator[str]:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable (set SINERGI_TEST_POSTGRES_URL)")
    prefix = f"sinergi_up_{uuid.uuid4().hex[:8]}"
    yield prefix
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for service in ("agreements", "programs"):
            admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)')


def test_each_service_gets_a_database_of_its_own_that_a_restart_keeps(prefix: str) -> None:
    urls = postgres_database_urls(ADMIN_URL, ["agreements", "programs"], prefix)
    assert {make_url(u).database for u in urls.values()} == {
        f"{prefix}_agreements",
        f"{prefix}_programs",
    }
    with psycopg.connect(urls["programs"], autocommit=True) as programs:
        programs.execute("CREATE TABLE kept (id int)")
    assert postgres_database_urls(ADMIN_URL, ["agreements", "programs"], prefix) == urls
    with psycopg.connect(urls["programs"]) as programs:
        assert programs.execute("SELECT count(*) FROM kept").fetchone() == (0,)
