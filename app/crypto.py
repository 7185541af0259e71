"""Keys and field encryption: AES-256-GCM for personal data at rest, HMAC-SHA256 for exact search."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_NAMES = ("SECRET_KEY", "DATA_KEY", "SEARCH_KEY", "AUDIT_KEY")


@dataclass(frozen=True)
class Keys:
    secret_key: bytes
    data_key: bytes
    search_key: bytes
    audit_key: bytes


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
                stored[name] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(stored, f)
    values = [_decode(configured.get(n) or stored[n], n) for n in KEY_NAMES]
    return Keys(*values)


def _decode(text: str, name: str) -> bytes:
    raw = base64.urlsafe_b64decode(text.encode() + b"=" * (-len(text) % 4))
    if len(raw) < 32:
        raise ValueError(f"{name} must be the urlsafe base64 of at least 32 random bytes")
    return raw


class FieldCipher:
    """Encrypts one personal-data field; the column name is bound in as associated data."""

    def __init__(self, data_key: bytes, search_key: bytes) -> None:
        self._aead = AESGCM(data_key[:32])
        self._search_key = search_key

    def encrypt(self, plaintext: str | None, column: str) -> bytes | None:
        if plaintext is None or plaintext == "":
            return None
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), column.encode())

    def decrypt(self, blob: bytes | None, column: str) -> str | None:
        if not blob:
            return None
        return self._aead.decrypt(blob[:12], blob[12:], column.encode()).decode()

    def search_hash(self, plaintext: str | None, column: str) -> str | None:
        """A keyed hash of the normalised value: equal inputs match, the table alone reveals nothing."""
        if not plaintext:
            return None
        return hmac.new(self._search_key, f"{column}:{plaintext}".encode(), hashlib.sha256).hexdigest()
