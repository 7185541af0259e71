"""Field ciphertexts name their data key: a rotated key encrypts new values, every old one still decrypts."""

from __future__ import annotations

import secrets

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.crypto import FieldCipher, key_id

OLD, NEW, SEARCH = (bytes([n]) * 32 for n in (1, 2, 3))


def _legacy(key: bytes, plaintext: str, column: str) -> bytes:
    """A ciphertext as written before key ids: nonce + ciphertext, no frame."""
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), column.encode())


def test_a_new_value_is_written_under_the_current_key_and_names_it():
    blob = FieldCipher(NEW, SEARCH, (OLD,)).encrypt("13812345678", "requester.phone")

    assert blob is not None and blob[:2] == b"HK" and blob[2:6].hex() == key_id(NEW)


def test_values_under_a_retired_key_and_unframed_legacy_values_still_decrypt():
    old_framed = FieldCipher(OLD, SEARCH).encrypt("13812345678", "requester.phone")
    rotated = FieldCipher(NEW, SEARCH, (OLD,))

    assert rotated.decrypt(old_framed, "requester.phone") == "13812345678"
    assert rotated.decrypt(_legacy(OLD, "11010519491231002X", "requester.id_number"),
                           "requester.id_number") == "11010519491231002X"
    assert not rotated.is_current(old_framed)
    assert rotated.is_current(rotated.encrypt("x", "requester.phone"))


def test_a_value_whose_key_is_gone_or_whose_column_differs_does_not_decrypt():
    old_framed = FieldCipher(OLD, SEARCH).encrypt("13812345678", "requester.phone")

    with pytest.raises(InvalidTag):
        FieldCipher(NEW, SEARCH).decrypt(old_framed, "requester.phone")
    with pytest.raises(InvalidTag):
        FieldCipher(OLD, SEARCH).decrypt(old_framed, "call.caller_number")
