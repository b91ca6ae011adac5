"""Protecting the NIK at rest (UU 27/2022): encrypted for reading, keyed hash for finding.

- :meth:`NikVault.encrypt` gives an AES-256-GCM token to store instead of the number.
- :meth:`NikVault.lookup_hash` gives a deterministic HMAC-SHA256 of the number under a separate
  key, to index and find duplicates without decrypting anything. A plain SHA-256 would not do:
  there are few enough plausible NIKs to hash them all.

Token layout: ``key id (1 byte) | nonce (12 bytes) | ciphertext and tag``. The key id picks
the decryption key, so a new key can be introduced while old tokens stay readable through
``previous_keys``; :meth:`NikVault.reencrypt` moves a token to the current key. The lookup key
cannot rotate that way (every stored hash would change); rotating it means rehashing from the
decrypted numbers (both over the stored rows: :mod:`services.identity.key_rotation`).

Keys are 32 random bytes, configured as base64 text (see :func:`generate_key`). No exception
raised here quotes a NIK or a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.identity.nik import mask_nik, normalise_nik

__all__ = [
    "InvalidNikError",
    "KeyConfigurationError",
    "NikDecryptionError",
    "NikProtectionError",
    "NikVault",
    "generate_key",
    "mask_nik",
    "parse_previous_keys",
]

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
_HEADER_BYTES: Final = 1
_TAG_BYTES: Final = 16
# Binds tokens to their purpose: a token made for another field with the same key fails here.
_PURPOSE: Final = b"sinergi/identity/nik/v1"


class NikProtectionError(Exception):
    """Base class for errors from this module."""


class KeyConfigurationError(NikProtectionError, ValueError):
    """A key is missing, malformed, of the wrong length, or reused where it must not be."""


class InvalidNikError(NikProtectionError, ValueError):
    """The value to protect is not a 16-digit NIK."""


class NikDecryptionError(NikProtectionError):
    """A token cannot be decrypted: unknown key id, wrong key, truncated or tampered."""


def generate_key() -> str:
    """A new random 32-byte key as base64 text, for the environment."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _decode_key(value: bytes | str, name: str) -> bytes:
    if isinstance(value, bytes):
        raw = value
    else:
        text = "".join(value.split())
        if not text:
            raise KeyConfigurationError(f"{name} is empty; expected {KEY_BYTES} bytes as base64")
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise KeyConfigurationError(f"{name} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyConfigurationError(
            f"{name} must be {KEY_BYTES} bytes (base64 text of {KEY_BYTES} bytes, or raw bytes); "
            f"got {len(raw)} bytes"
        )
    return raw


def parse_previous_keys(entries: Iterable[str]) -> dict[int, str]:
    """``previous_keys`` from configuration entries written ``"<key id>:<base64 key>"``.

    The key id is the one the key was used under; keys are decoded later by :class:`NikVault`.
    """
    keys: dict[int, str] = {}
    for position, entry in enumerate(entries, start=1):
        key_id, separator, key = entry.partition(":")
        if not separator or not key_id.strip().isdigit():
            raise KeyConfigurationError(
                f"previous key entry {position} must be written <key id>:<base64 key>"
            )
        kid = int(key_id)
        _check_key_id(kid, f"previous key entry {position} key id")
        if kid in keys:
            raise KeyConfigurationError(f"previous key id {kid} is given twice")
        keys[kid] = key.strip()
    return keys


def _check_key_id(key_id: int, name: str) -> None:
    if not 0 <= key_id <= 255:
        raise KeyConfigurationError(f"{name} must be between 0 and 255")


def _digits(nik: str) -> str:
    digits = normalise_nik(nik)
    if digits is None:
        raise InvalidNikError("the value is not a 16-digit NIK")
    return digits


class NikVault:
    """Encrypts, decrypts and hashes NIKs with keys held in memory only.

    ``encryption_key`` encrypts every new token under ``key_id``; ``previous_keys`` maps older
    key ids to their keys, used only to decrypt. ``lookup_key`` keys the lookup hash and must
    differ from every encryption key.
    """

    __slots__ = ("_ciphers", "_key_id", "_lookup_key")

    def __init__(
        self,
        encryption_key: bytes | str,
        lookup_key: bytes | str,
        *,
        key_id: int = 1,
        previous_keys: Mapping[int, bytes | str] | None = None,
    ) -> None:
        _check_key_id(key_id, "key id")
        current = _decode_key(encryption_key, "encryption key")
        keys: dict[int, bytes] = {key_id: current}
        for old_id, old_key in (previous_keys or {}).items():
            _check_key_id(old_id, "previous key id")
            if old_id == key_id:
                raise KeyConfigurationError(
                    f"previous key id {old_id} is the current key id; give old keys their own ids"
                )
            keys[old_id] = _decode_key(old_key, f"previous key {old_id}")
        lookup = _decode_key(lookup_key, "lookup key")
        if any(hmac.compare_digest(lookup, key) for key in keys.values()):
            raise KeyConfigurationError("lookup key must differ from the encryption keys")
        self._key_id = key_id
        self._lookup_key = lookup
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}

    def __repr__(self) -> str:
        previous = sorted(k for k in self._ciphers if k != self._key_id)
        return f"NikVault(key_id={self._key_id}, previous_key_ids={previous})"

    @property
    def key_id(self) -> int:
        return self._key_id

    def encrypt(self, nik: str) -> bytes:
        """A fresh token for ``nik`` (normalised first); never the same twice."""
        header = bytes([self._key_id])
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self._key_id].encrypt(
            nonce, _digits(nik).encode("ascii"), _PURPOSE + header
        )
        return header + nonce + sealed

    def decrypt(self, token: bytes) -> str:
        """The 16-digit NIK in ``token``."""
        if len(token) < _HEADER_BYTES + NONCE_BYTES + _TAG_BYTES:
            raise NikDecryptionError("token is too short to be a NIK token")
        key_id = token[0]
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise NikDecryptionError(f"token was encrypted with key id {key_id}, not configured")
        nonce = token[_HEADER_BYTES : _HEADER_BYTES + NONCE_BYTES]
        try:
            plain = cipher.decrypt(
                nonce, token[_HEADER_BYTES + NONCE_BYTES :], _PURPOSE + token[:1]
            )
        except InvalidTag:
            raise NikDecryptionError(
                "token could not be decrypted: wrong key, or the token was altered"
            ) from None
        return plain.decode("ascii")

    @staticmethod
    def key_id_of(token: bytes) -> int:
        """The key id a token was encrypted with, read from its first byte."""
        if not token:
            raise NikDecryptionError("token is empty")
        return token[0]

    def needs_reencryption(self, token: bytes) -> bool:
        """True when ``token`` was made with an older key."""
        return self.key_id_of(token) != self._key_id

    def reencrypt(self, token: bytes) -> bytes:
        """``token`` decrypted and encrypted again under the current key."""
        return self.encrypt(self.decrypt(token))

    def lookup_hash(self, nik: str) -> str:
        """HMAC-SHA256 (hex) of the normalised NIK under the lookup key; same NIK, same hash."""
        return hmac.new(self._lookup_key, _digits(nik).encode("ascii"), hashlib.sha256).hexdigest()
