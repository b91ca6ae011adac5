import base64

import pytest

from services.identity.protection import (
    InvalidNikError,
    KeyConfigurationError,
    NikDecryptionError,
    NikVault,
    generate_key,
    mask_nik,
    parse_previous_keys,
)

NIK = "6307064503900001"
OTHER_NIK = "6307061708500002"


@pytest.fixture
def vault() -> NikVault:
    return NikVault(generate_key(), generate_key())


def test_a_generated_key_is_base64_of_32_random_bytes() -> None:
    key = generate_key()

    assert len(base64.b64decode(key)) == 32
    assert generate_key() != key


def test_an_encrypted_nik_decrypts_to_the_same_digits(vault: NikVault) -> None:
    token = vault.encrypt(NIK)

    assert vault.decrypt(token) == NIK
    assert NIK.encode() not in token


def test_the_nik_is_normalised_before_encryption(vault: NikVault) -> None:
    assert vault.decrypt(vault.encrypt("63.07.06 450390-0001")) == NIK


def test_encrypting_twice_gives_different_tokens(vault: NikVault) -> None:
    assert vault.encrypt(NIK) != vault.encrypt(NIK)


def test_a_token_starts_with_the_key_id() -> None:
    token = NikVault(generate_key(), generate_key(), key_id=7).encrypt(NIK)

    assert token[0] == 7
    assert NikVault.key_id_of(token) == 7
    assert len(token) == 1 + 12 + 16 + 16


def test_the_lookup_hash_is_stable_and_ignores_separators(vault: NikVault) -> None:
    digest = vault.lookup_hash(NIK)

    assert digest == vault.lookup_hash(NIK)
    assert digest == vault.lookup_hash("6307 0645 0390 0001")
    assert len(digest) == 64
    assert NIK not in digest


def test_the_lookup_hash_differs_between_niks(vault: NikVault) -> None:
    assert vault.lookup_hash(NIK) != vault.lookup_hash(OTHER_NIK)


def test_the_lookup_hash_depends_on_the_lookup_key_only() -> None:
    encryption_key, lookup_key = generate_key(), generate_key()
    first = NikVault(encryption_key, lookup_key)
    new_encryption_key = NikVault(generate_key(), lookup_key)
    new_lookup_key = NikVault(encryption_key, generate_key())

    assert first.lookup_hash(NIK) == new_encryption_key.lookup_hash(NIK)
    assert first.lookup_hash(NIK) != new_lookup_key.lookup_hash(NIK)


def test_after_rotation_old_tokens_decrypt_with_the_previous_key() -> None:
    old_key, new_key, lookup_key = generate_key(), generate_key(), generate_key()
    old_token = NikVault(old_key, lookup_key, key_id=1).encrypt(NIK)
    rotated = NikVault(new_key, lookup_key, key_id=2, previous_keys={1: old_key})

    assert rotated.decrypt(old_token) == NIK
    assert rotated.needs_reencryption(old_token)
    new_token = rotated.reencrypt(old_token)
    assert NikVault.key_id_of(new_token) == 2
    assert not rotated.needs_reencryption(new_token)
    assert NikVault(new_key, lookup_key, key_id=2).decrypt(new_token) == NIK


def test_a_token_from_a_key_that_is_no_longer_configured_fails_clearly() -> None:
    old_token = NikVault(generate_key(), generate_key(), key_id=1).encrypt(NIK)
    current = NikVault(generate_key(), generate_key(), key_id=2)

    with pytest.raises(NikDecryptionError, match="key id 1") as raised:
        current.decrypt(old_token)
    assert NIK not in str(raised.value)


def test_a_token_under_the_same_key_id_but_another_key_fails(vault: NikVault) -> None:
    token = NikVault(generate_key(), generate_key()).encrypt(NIK)

    with pytest.raises(NikDecryptionError, match="wrong key, or the token was altered"):
        vault.decrypt(token)


@pytest.mark.parametrize("position", [1, 12, 13, 20, -1])
def test_a_tampered_token_fails(vault: NikVault, position: int) -> None:
    token = bytearray(vault.encrypt(NIK))
    token[position] ^= 0x01

    with pytest.raises(NikDecryptionError):
        vault.decrypt(bytes(token))


def test_changing_the_key_id_byte_of_a_token_fails() -> None:
    key, lookup_key = generate_key(), generate_key()
    both = NikVault(key, lookup_key, key_id=2, previous_keys={1: key})
    token = bytearray(both.encrypt(NIK))
    token[0] = 1

    with pytest.raises(NikDecryptionError):
        both.decrypt(bytes(token))


@pytest.mark.parametrize("token", [b"", b"\x01", b"\x01" + bytes(27)])
def test_a_truncated_token_fails(vault: NikVault, token: bytes) -> None:
    with pytest.raises(NikDecryptionError):
        vault.decrypt(token)


@pytest.mark.parametrize(
    "key",
    [
        base64.b64encode(bytes(16)).decode(),
        base64.b64encode(bytes(33)).decode(),
        bytes(31),
        NIK,
        f"{NIK}{NIK}",
    ],
)
def test_a_key_of_the_wrong_length_is_refused_without_quoting_it(key: bytes | str) -> None:
    with pytest.raises(KeyConfigurationError, match="must be 32 bytes") as raised:
        NikVault(key, generate_key())
    message = str(raised.value)
    assert "encryption key" in message
    assert NIK not in message
    assert str(key) not in message


@pytest.mark.parametrize("key", ["", "   ", "not base64 at all!", "abc"])
def test_a_key_that_is_not_base64_is_refused(key: str) -> None:
    with pytest.raises(KeyConfigurationError, match="lookup key"):
        NikVault(generate_key(), key)


def test_a_urlsafe_base64_key_and_raw_bytes_are_accepted() -> None:
    raw = bytes(range(250, 256)) + bytes(26)
    urlsafe = base64.urlsafe_b64encode(raw).decode()

    assert "-" in urlsafe or "_" in urlsafe
    assert NikVault(urlsafe, raw[::-1]).decrypt(NikVault(raw, raw[::-1]).encrypt(NIK)) == NIK


def test_the_lookup_key_must_differ_from_the_encryption_keys() -> None:
    key = generate_key()

    with pytest.raises(KeyConfigurationError, match="must differ"):
        NikVault(key, key)
    with pytest.raises(KeyConfigurationError, match="must differ"):
        NikVault(generate_key(), key, key_id=2, previous_keys={1: key})


def test_a_previous_key_cannot_reuse_the_current_key_id() -> None:
    with pytest.raises(KeyConfigurationError, match="current key id"):
        NikVault(generate_key(), generate_key(), key_id=1, previous_keys={1: generate_key()})


@pytest.mark.parametrize("key_id", [-1, 256])
def test_a_key_id_must_fit_in_one_byte(key_id: int) -> None:
    with pytest.raises(KeyConfigurationError, match="between 0 and 255"):
        NikVault(generate_key(), generate_key(), key_id=key_id)


@pytest.mark.parametrize("value", ["630706450390001", "630706450390000A", "63070645039000011"])
def test_something_that_is_not_a_nik_is_refused_without_quoting_it(
    vault: NikVault, value: str
) -> None:
    for operation in (vault.encrypt, vault.lookup_hash):
        with pytest.raises(InvalidNikError) as raised:
            operation(value)
        assert value not in str(raised.value)
        assert value[:6] not in str(raised.value)


def test_the_vault_repr_shows_key_ids_but_no_keys() -> None:
    key, old_key = generate_key(), generate_key()
    text = repr(NikVault(key, generate_key(), key_id=3, previous_keys={2: old_key}))

    assert text == "NikVault(key_id=3, previous_key_ids=[2])"


def test_mask_nik_is_available_from_the_protection_module() -> None:
    assert mask_nik(NIK) == "63.07.**.******.****"


def test_previous_keys_are_read_from_id_colon_key_entries() -> None:
    old_key = generate_key()
    old_token = NikVault(old_key, generate_key(), key_id=4).encrypt(NIK)

    previous = parse_previous_keys([f"4:{old_key}", f" 2 : {generate_key()} "])

    assert sorted(previous) == [2, 4]
    assert (
        NikVault(generate_key(), generate_key(), key_id=5, previous_keys=previous).decrypt(
            old_token
        )
        == NIK
    )


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([NIK], "entry 1 must be written"),
        (["x:abc"], "entry 1 must be written"),
        ([f"1:{NIK}", f"300:{NIK}"], "between 0 and 255"),
        ([f"1:{NIK}", f"1:{NIK}"], "given twice"),
    ],
)
def test_malformed_previous_key_entries_are_refused_without_quoting_them(
    entries: list[str], message: str
) -> None:
    with pytest.raises(KeyConfigurationError, match=message) as raised:
        parse_previous_keys(entries)
    assert NIK not in str(raised.value)
