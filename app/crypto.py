"""Keys and field encryption: AES-256-GCM for personal data at rest, HMAC-SHA256 for exact search.

A field ciphertext is `HK` + the 4-byte id of its data key + nonce + ciphertext-and-tag; one written before
key ids existed is nonce + ciphertext-and-tag, and is tried under every known data key. Rotation: the new
key is DATA_KEY, the old ones stay readable in DATA_KEYS_RETIRED until `flask keys rewrap` moved every row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_NAMES = ("SECRET_KEY", "DATA_KEY", "SEARCH_KEY", "AUDIT_KEY")
RETIRED_NAME = "DATA_KEYS_RETIRED"
FRAME = b"HK"
ID_BYTES = 4


@dataclass(frozen=True)
class Keys:
    secret_key: bytes
    data_key: bytes
    search_key: bytes
    audit_key: bytes
    retired_data_keys: tuple[bytes, ...] = ()

    @property
    def data_keys(self) -> dict[str, bytes]:
        """Every data key that still decrypts, by id; the current one first."""
        return {key_id(k): k for k in (self.data_key, *self.retired_data_keys)}


def key_id(key: bytes) -> str:
    """A data key's public name (8 hex digits): derived from the key, so no registry can drift from it."""
    return hmac.new(key[:32], b"huiyin data key id", hashlib.sha256).hexdigest()[:ID_BYTES * 2]


def derive_key(key: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (e.g. backups) derived from a data key, never the data key itself."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(key[:32])


def new_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def load_keys(configured: dict[str, str], instance_path: str) -> Keys:
    """Take keys from the configuration; any missing one comes from (or is generated into) instance/keys.json."""
    path = Path(instance_path) / "keys.json"
    stored: dict[str, str] = {}
    if any(not configured.get(name) for name in KEY_NAMES):
        if path.exists():
            stored = json.loads(path.read_text())
        missing = [n for n in KEY_NAMES if not configured.get(n) and n not in stored]
        if missing:
            for name in missing:
                stored[name] = new_key_text()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(stored, f)
    secret, data, search, audit = (_decode(configured.get(n) or stored[n], n) for n in KEY_NAMES)
    retired_text = configured.get(RETIRED_NAME) if configured.get("DATA_KEY") else stored.get(RETIRED_NAME)
    retired = tuple(_decode(t.strip(), RETIRED_NAME) for t in (retired_text or "").split(",") if t.strip())
    return Keys(secret, data, search, audit, retired_data_keys=retired)


def rotate_stored_data_key(instance_path: str) -> tuple[str, str]:
    """Make a new DATA_KEY in instance/keys.json, keeping the old one readable as retired; (old id, new id)."""
    path = Path(instance_path) / "keys.json"
    stored = json.loads(path.read_text())
    old = stored["DATA_KEY"]
    retired = [t for t in (stored.get(RETIRED_NAME) or "").split(",") if t]
    stored[RETIRED_NAME] = ",".join([old, *[t for t in retired if t != old]])
    stored["DATA_KEY"] = new_key_text()
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(stored, f)
    os.replace(temporary, path)  # a crash leaves the old file or the new one, never half of one
    return key_id(_decode(old, "DATA_KEY")), key_id(_decode(stored["DATA_KEY"], "DATA_KEY"))


def _decode(text: str, name: str) -> bytes:
    raw = base64.urlsafe_b64decode(text.encode() + b"=" * (-len(text) % 4))
    if len(raw) < 32:
        raise ValueError(f"{name} must be the urlsafe base64 of at least 32 random bytes")
    return raw


class FieldCipher:
    """Encrypts one personal-data field; the column name is bound in as associated data."""

    def __init__(self, data_key: bytes, search_key: bytes, retired: tuple[bytes, ...] = ()) -> None:
        keys = {key_id(k): AESGCM(k[:32]) for k in (data_key, *retired)}
        self.key_id = key_id(data_key)
        self._prefix = FRAME + bytes.fromhex(self.key_id)
        self._aead = keys[self.key_id]
        self._by_id = keys
        self._search_key = search_key

    def encrypt(self, plaintext: str | None, column: str) -> bytes | None:
        if plaintext is None or plaintext == "":
            return None
        nonce = secrets.token_bytes(12)
        return self._prefix + nonce + self._aead.encrypt(nonce, plaintext.encode(), column.encode())

    def decrypt(self, blob: bytes | None, column: str) -> str | None:
        """The plaintext under whichever known key made it; InvalidTag if none did (or it was altered)."""
        if not blob:
            return None
        blob = bytes(blob)
        aead = self._by_id.get(blob[2:2 + ID_BYTES].hex()) if blob[:2] == FRAME else None
        if aead is not None:
            body = blob[2 + ID_BYTES:]
            try:
                return aead.decrypt(body[:12], body[12:], column.encode()).decode()
            except InvalidTag:
                pass  # a legacy nonce that happened to look like a frame: tried below
        for legacy in self._by_id.values():
            try:
                return legacy.decrypt(blob[:12], blob[12:], column.encode()).decode()
            except InvalidTag:
                continue
        raise InvalidTag()

    def is_current(self, blob: bytes | None) -> bool:
        """Whether the ciphertext is framed under the current data key (nothing left to rewrap)."""
        return not blob or bytes(blob[:2 + ID_BYTES]) == self._prefix

    def search_hash(self, plaintext: str | None, column: str) -> str | None:
        """A keyed hash of the normalised value: equal inputs match, the table alone reveals nothing."""
        if not plaintext:
            return None
        return hmac.new(self._search_key, f"{column}:{plaintext}".encode(), hashlib.sha256).hexdigest()
