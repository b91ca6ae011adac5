"""Login sessions: an HttpOnly cookie naming the API key's digest, signed and time-limited.

The cookie never holds the key itself. Each request looks the digest up in the configured
entries again, so removing a key from the configuration ends its sessions too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence

from shared.http.auth import ApiKeyAuthenticator, ApiKeyEntry, Principal, hash_api_key

COOKIE_NAME = "sinergi_dashboard"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class SessionKeeper:
    def __init__(
        self,
        entries: Sequence[ApiKeyEntry],
        secret: bytes,
        max_age_s: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._authenticator = ApiKeyAuthenticator(entries)
        self._by_digest = {entry.sha256: entry for entry in entries}
        self._secret = secret
        self.max_age_s = max_age_s
        self._clock = clock

    def from_key(self, raw_key: str | None) -> Principal | None:
        return self._authenticator.authenticate(raw_key)

    def issue(self, raw_key: str) -> str | None:
        """A cookie value for a valid key, or None."""
        if self.from_key(raw_key) is None:
            return None
        body = json.dumps(
            {"k": hash_api_key(raw_key), "e": int(self._clock()) + self.max_age_s},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(body)}.{_b64(self._sign(body))}"

    def from_cookie(self, value: str | None) -> Principal | None:
        if not value or value.count(".") != 1:
            return None
        body_part, signature_part = value.split(".")
        try:
            body = _unb64(body_part)
            signature = _unb64(signature_part)
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            claims = json.loads(body)
            digest, expires = str(claims["k"]), int(claims["e"])
        except (ValueError, KeyError, TypeError):
            return None
        entry = self._by_digest.get(digest)
        if entry is None or expires < self._clock():
            return None
        return Principal(entry.name, entry.role, entry.partner, entry.facility)

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()
