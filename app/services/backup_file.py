"""The backup file: a readable, authenticated header and the dump in AES-256-GCM chunks.

    MAGIC (6 bytes "HYBK" 00 01)
    header length (4 bytes, big-endian) + header (UTF-8 JSON: kind, key_id, created_at, manifest, …)
    chunks, each: ciphertext length (4 bytes) + nonce (12) + ciphertext with its 16-byte tag

Each chunk's associated data is SHA-256(MAGIC + header) + its index (8 bytes) + a last-chunk flag (1 byte):
an altered header, a chunk altered, reordered or dropped, or a cut-off tail all fail the tag check.
The header is plaintext so a listing needs no key; it holds counts and hashes, never personal data.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"HYBK\x00\x01"
CHUNK = 1 << 20
MAX_HEADER = 1 << 20


class BackupDamaged(Exception):
    """The file is not a backup, or it was altered or cut short (the message says which, in Chinese)."""


def write_encrypted(source: IO[bytes], target: Path, key: bytes, header: dict[str, Any]) -> int:
    """Encrypt `source` (read in chunks) into a new file at `target` (mode 0600); answers the plaintext size."""
    header_bytes = json.dumps(header, ensure_ascii=False, sort_keys=True).encode()
    digest = hashlib.sha256(MAGIC + header_bytes).digest()
    aead = AESGCM(key)
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes)
        index = 0
        chunk = source.read(CHUNK)
        while True:
            following = source.read(CHUNK) if chunk else b""
            last = not following
            nonce = secrets.token_bytes(12)
            sealed = aead.encrypt(nonce, chunk, digest + struct.pack(">QB", index, last))
            out.write(struct.pack(">I", len(sealed)) + nonce + sealed)
            size += len(chunk)
            if last:
                break
            chunk, index = following, index + 1
        out.flush()
        os.fsync(out.fileno())
    return size


def read_header(path: Path) -> dict[str, Any]:
    """The header of a backup file (no key needed); BackupDamaged if it is not one."""
    with path.open("rb") as f:
        return _header(f)[0]


def _header(f: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    if f.read(len(MAGIC)) != MAGIC:
        raise BackupDamaged("不是回音的备份文件(文件头不符)")
    (length,) = struct.unpack(">I", _exactly(f, 4))
    if length > MAX_HEADER:
        raise BackupDamaged("备份文件头损坏")
    raw = _exactly(f, length)
    try:
        header = json.loads(raw)
    except ValueError as e:
        raise BackupDamaged("备份文件头损坏") from e
    return header, hashlib.sha256(MAGIC + raw).digest()


def decrypted_chunks(path: Path, key: bytes) -> Iterator[bytes]:
    """The plaintext, chunk by chunk, each only after its tag verified; BackupDamaged on any mismatch."""
    aead = AESGCM(key)
    with path.open("rb") as f:
        _, digest = _header(f)
        index = 0
        while True:
            head = f.read(4)
            if not head:
                raise BackupDamaged("备份文件不完整(缺少结尾,可能被截断)")
            (length,) = struct.unpack(">I", _exactly(f, 4, head))
            nonce, sealed = _exactly(f, 12), _exactly(f, length)
            for last in (False, True):
                try:
                    plain = aead.decrypt(nonce, sealed, digest + struct.pack(">QB", index, last))
                    break
                except InvalidTag:
                    continue
            else:
                raise BackupDamaged(f"备份文件校验失败(第 {index + 1} 块认证标签不符:文件被改动或密钥不对)")
            yield plain
            if last:
                if f.read(1):
                    raise BackupDamaged("备份文件结尾之后还有多余数据")
                return
            index += 1


def check(path: Path, key: bytes) -> int:
    """Verify every chunk's tag end to end; answers the plaintext size."""
    return sum(len(c) for c in decrypted_chunks(path, key))


def _exactly(f: IO[bytes], n: int, already: bytes = b"") -> bytes:
    data = already + f.read(n - len(already))
    if len(data) != n:
        raise BackupDamaged("备份文件不完整(可能被截断)")
    return data
