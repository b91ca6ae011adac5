"""`SINERGI_LANGUAGE=en` makes English the dashboard's default."""

from __future__ import annotations

from tests.integration.dashboard.support import auth, make_settings, running


def test_english_is_the_default_when_the_setting_says_so(redis_url: str, tmp_path: object) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/dashboard.db", redis_url, language="en")
    with running(settings) as client:
        html = client.get("/agreements", headers=auth("staff")).text
        assert "Agreements by status" in html
        assert (
            "Perjanjian menurut status"
            in client.get("/agreements?lang=id", headers=auth("staff")).text
        )
