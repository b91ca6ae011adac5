"""API-key authentication with roles.

Keys are random 32-byte tokens handed out once; only their SHA-256 hex digests are
configured (as a JSON list of :class:`ApiKeyEntry`). A plain SHA-256 suffices because
the keys carry full entropy, so there is nothing to brute-force from a digest.
"""

# No ``from __future__ import annotations`` here: FastAPI must evaluate the dependency
# signatures built in ``require_roles``, which refer to a closure variable.
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Self

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from shared.http.problems import Problem

__all__ = [
    "API_KEY_HEADER",
    "ApiKeyAuthenticator",
    "ApiKeyEntry",
    "Principal",
    "PrincipalDependency",
    "Role",
    "generate_api_key",
    "hash_api_key",
    "parse_api_key_entries",
    "principal_dependency",
    "require_roles",
]

API_KEY_HEADER = "X-API-Key"


class Role(StrEnum):
    STAFF = "staff"
    PARTNER = "partner"
    AUDITOR = "auditor"
    REGISTRATION = "registration"


class ApiKeyEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    role: Role
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 hex digest of the key")
    partner: str | None = None
    facility: str | None = None

    @model_validator(mode="after")
    def _partner_keys_name_their_partner(self) -> Self:
        if self.role is Role.PARTNER and not self.partner:
            raise ValueError(f"partner key {self.name!r} must name its partner")
        return self


_ENTRIES = TypeAdapter(list[ApiKeyEntry])


def parse_api_key_entries(raw_json: str) -> list[ApiKeyEntry]:
    """Parse the configured JSON list of entries (e.g. from an environment variable)."""
    return _ENTRIES.validate_json(raw_json)


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    partner: str | None
    facility: str | None

    @property
    def can_write(self) -> bool:
        return self.role is not Role.AUDITOR

    def sees_partner(self, partner_code: str) -> bool:
        """Partners see only their own data; every other role sees all partners."""
        return self.role is not Role.PARTNER or self.partner == partner_code


def generate_api_key() -> str:
    return secrets.token_urlsafe(32)


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiKeyAuthenticator:
    def __init__(self, entries: Sequence[ApiKeyEntry]) -> None:
        digests = [entry.sha256 for entry in entries]
        if len(set(digests)) != len(digests):
            raise ValueError("two API key entries share the same digest")
        self._entries = tuple(entries)

    def authenticate(self, raw: str | None) -> Principal | None:
        """The principal for ``raw``, or ``None``; compares against every entry."""
        if not raw:
            return None
        digest = hash_api_key(raw)
        found: ApiKeyEntry | None = None
        for entry in self._entries:
            # No early exit, so timing does not reveal which entry matched.
            if hmac.compare_digest(digest, entry.sha256):
                found = entry
        if found is None:
            return None
        return Principal(found.name, found.role, found.partner, found.facility)


PrincipalDependency = Callable[..., Awaitable[Principal]]

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ApiKey",
    description="API key issued to the caller.",
    auto_error=False,
)
_bearer = HTTPBearer(
    scheme_name="BearerApiKey",
    description="The same API key sent as `Authorization: Bearer <key>`.",
    auto_error=False,
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sinergi"'}


async def credentials(request: Request) -> tuple[str | None, HTTPAuthorizationCredentials | None]:
    """What the dependency's two security schemes read from `request` (for direct routes)."""
    return await _api_key_header(request), await _bearer(request)


def principal_dependency(authenticator: ApiKeyAuthenticator) -> PrincipalDependency:
    """A dependency resolving the caller from ``X-API-Key`` or ``Authorization: Bearer``."""

    async def current_principal(
        api_key: Annotated[str | None, Security(_api_key_header)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> Principal:
        raw = api_key or (bearer.credentials if bearer else None)
        if not raw:
            raise Problem(401, "Unauthorized", "missing API key", headers=_CHALLENGE)
        principal = authenticator.authenticate(raw)
        if principal is None:
            raise Problem(401, "Unauthorized", "invalid API key", headers=_CHALLENGE)
        return principal

    return current_principal


def require_roles(*roles: Role, principal: PrincipalDependency) -> PrincipalDependency:
    """A dependency admitting only callers whose role is one of ``roles``.

    Usage: ``Depends(require_roles(Role.STAFF, Role.REGISTRATION, principal=get_principal))``
    where ``get_principal = principal_dependency(authenticator)``.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")
    allowed = frozenset(roles)
    allowed_text = ", ".join(sorted(allowed))

    async def role_guard(
        caller: Annotated[Principal, Security(principal)],
    ) -> Principal:
        if caller.role not in allowed:
            raise Problem(
                403,
                "Forbidden",
                f"role {caller.role} may not perform this operation (requires: {allowed_text})",
            )
        return caller

    return role_guard
