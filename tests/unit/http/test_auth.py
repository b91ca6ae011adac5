from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shared.http.auth import (
    ApiKeyAuthenticator,
    ApiKeyEntry,
    Principal,
    Role,
    generate_api_key,
    hash_api_key,
    parse_api_key_entries,
    principal_dependency,
    require_roles,
)
from shared.http.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

STAFF_KEY = generate_api_key()
AUDITOR_KEY = generate_api_key()
PARTNER_KEY = generate_api_key()


def entries() -> list[ApiKeyEntry]:
    return [
        ApiKeyEntry(name="ops", role=Role.STAFF, sha256=hash_api_key(STAFF_KEY), facility="lp-1"),
        ApiKeyEntry(name="audit", role=Role.AUDITOR, sha256=hash_api_key(AUDITOR_KEY)),
        ApiKeyEntry(
            name="acme", role=Role.PARTNER, sha256=hash_api_key(PARTNER_KEY), partner="ACME"
        ),
    ]


def make_client() -> TestClient:
    get_principal = principal_dependency(ApiKeyAuthenticator(entries()))
    writer = require_roles(Role.STAFF, Role.REGISTRATION, principal=get_principal)
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(get_principal)]) -> dict[str, str]:
        return {"name": principal.name, "role": principal.role}

    @app.post("/agreements")
    async def create(principal: Annotated[Principal, Depends(writer)]) -> dict[str, str]:
        return {"created_by": principal.name}

    return TestClient(app)


def test_a_request_without_a_key_is_401_with_a_challenge() -> None:
    response = make_client().get("/me")

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["title"] == "Unauthorized"
    assert response.json()["detail"] == "missing API key"


def test_an_unknown_key_is_401() -> None:
    response = make_client().get("/me", headers={"X-API-Key": generate_api_key()})

    assert response.status_code == 401
    assert response.json()["detail"] == "invalid API key"


def test_a_valid_key_in_the_api_key_header_resolves_the_principal() -> None:
    response = make_client().get("/me", headers={"X-API-Key": STAFF_KEY})

    assert response.status_code == 200
    assert response.json() == {"name": "ops", "role": "staff"}


def test_a_valid_key_as_bearer_token_resolves_the_principal() -> None:
    response = make_client().get("/me", headers={"Authorization": f"Bearer {AUDITOR_KEY}"})

    assert response.status_code == 200
    assert response.json() == {"name": "audit", "role": "auditor"}


def test_a_non_bearer_authorization_header_is_not_accepted() -> None:
    response = make_client().get("/me", headers={"Authorization": f"Basic {STAFF_KEY}"})

    assert response.status_code == 401


def test_an_allowed_role_passes_the_role_check() -> None:
    response = make_client().post("/agreements", headers={"X-API-Key": STAFF_KEY})

    assert response.status_code == 200
    assert response.json() == {"created_by": "ops"}


def test_a_disallowed_role_is_403_naming_the_role() -> None:
    response = make_client().post("/agreements", headers={"X-API-Key": AUDITOR_KEY})

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["title"] == "Forbidden"
    assert response.json()["detail"].startswith("role auditor may not")


def test_the_role_check_still_requires_a_key() -> None:
    assert make_client().post("/agreements").status_code == 401


def test_require_roles_needs_at_least_one_role() -> None:
    get_principal = principal_dependency(ApiKeyAuthenticator([]))

    with pytest.raises(ValueError, match="at least one role"):
        require_roles(principal=get_principal)


def test_openapi_documents_both_security_schemes() -> None:
    schema = make_client().app.openapi()  # type: ignore[attr-defined]

    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "API key issued to the caller.",
    }
    assert schemes["BearerApiKey"]["scheme"] == "bearer"
    assert {"ApiKey": []} in schema["paths"]["/me"]["get"]["security"]


def test_authenticate_returns_the_principal_for_a_known_key() -> None:
    authenticator = ApiKeyAuthenticator(entries())

    assert authenticator.authenticate(PARTNER_KEY) == Principal(
        "acme", Role.PARTNER, partner="ACME", facility=None
    )
    assert authenticator.authenticate(STAFF_KEY + "x") is None
    assert authenticator.authenticate("") is None
    assert authenticator.authenticate(None) is None


def test_duplicate_digests_are_rejected() -> None:
    entry = entries()[0]

    with pytest.raises(ValueError, match="same digest"):
        ApiKeyAuthenticator([entry, entry.model_copy(update={"name": "again"})])


def test_only_auditors_cannot_write() -> None:
    assert not Principal("a", Role.AUDITOR, None, None).can_write
    for role in (Role.STAFF, Role.PARTNER, Role.REGISTRATION):
        assert Principal("x", role, "ACME", None).can_write


def test_partners_see_only_their_own_partner() -> None:
    partner = Principal("acme", Role.PARTNER, "ACME", None)
    staff = Principal("ops", Role.STAFF, None, "lp-1")

    assert partner.sees_partner("ACME")
    assert not partner.sees_partner("OTHER")
    assert staff.sees_partner("OTHER")


def test_generated_keys_are_random_and_hash_to_64_lowercase_hex() -> None:
    key = generate_api_key()

    assert key != generate_api_key()
    assert len(key) >= 43
    digest = hash_api_key(key)
    assert len(digest) == 64
    assert digest == digest.lower()


@pytest.mark.parametrize(
    "sha256",
    ["abc", "A" * 64, "g" * 64, hash_api_key("k") + "0", " " + hash_api_key("k")[1:]],
)
def test_an_entry_rejects_a_malformed_digest(sha256: str) -> None:
    with pytest.raises(ValidationError):
        ApiKeyEntry(name="x", role=Role.STAFF, sha256=sha256)


def test_a_partner_entry_must_name_its_partner() -> None:
    with pytest.raises(ValidationError, match="must name its partner"):
        ApiKeyEntry(name="acme", role=Role.PARTNER, sha256=hash_api_key("k"))


def test_entries_parse_from_configured_json() -> None:
    raw = (
        '[{"name": "acme", "role": "partner", "partner": "ACME", '
        f'"sha256": "{hash_api_key(PARTNER_KEY)}"}}]'
    )

    (entry,) = parse_api_key_entries(raw)

    assert entry.role is Role.PARTNER
    assert entry.partner == "ACME"


def test_an_unknown_role_in_configured_json_is_rejected() -> None:
    raw = f'[{{"name": "x", "role": "admin", "sha256": "{hash_api_key("k")}"}}]'

    with pytest.raises(ValidationError):
        parse_api_key_entries(raw)
