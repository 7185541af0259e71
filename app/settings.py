"""Every environment variable Huiyin reads, with its default: this list is the deployment documentation."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Configuration read once at start; `create_app(config)` may override any field for tests."""

    # SQLAlchemy URL; the embedded default is a SQLite file under instance/.
    DATABASE_URL: str = f"sqlite:///{ROOT / 'instance' / 'huiyin.db'}"
    # Folder for the SQLite file, generated dev keys and uploaded files.
    INSTANCE_PATH: str = str(ROOT / "instance")
    # Where call recordings and voicemail files from the PBX are kept (default: INSTANCE_PATH/recordings).
    RECORDINGS_DIR: str = ""
    # Flask session signing key (32+ random bytes, urlsafe base64); dev: generated into instance/.
    SECRET_KEY: str = ""
    # AES-256-GCM key for personal data at rest (urlsafe base64 of 32 bytes); dev: generated.
    DATA_KEY: str = ""
    # HMAC key for the blind index used for exact search on encrypted fields; dev: generated.
    SEARCH_KEY: str = ""
    # HMAC key that chains audit rows; dev: generated.
    AUDIT_KEY: str = ""
    # Minutes of inactivity after which a signed-in session ends.
    SESSION_IDLE_MINUTES: int = 30
    # Hours after sign-in after which a session ends whatever happens.
    SESSION_MAX_HOURS: int = 12
    # Failed sign-ins in a row that lock an account.
    LOCKOUT_THRESHOLD: int = 5
    # Minutes an account stays locked.
    LOCKOUT_MINUTES: int = 30
    # Minimum password length.
    PASSWORD_MIN_LENGTH: int = 8
    # How many of the four classes (lower, upper, digit, symbol) a password needs.
    PASSWORD_MIN_CLASSES: int = 3
    # Days after which a password must be changed (0 = never).
    PASSWORD_MAX_AGE_DAYS: int = 90
    # Argon2id time cost and memory (KiB); tests lower them to run fast.
    ARGON2_TIME_COST: int = 3
    ARGON2_MEMORY_KIB: int = 65536
    # Hours a bearer token issued by POST /api/v1/auth/token lives.
    API_TOKEN_HOURS: int = 12
    # Password for every demo account created by `flask seed-demo`.
    DEMO_PASSWORD: str = "Huiyin@2026"  # noqa: S105 — demo only, printed at start
    # Send the session cookie only over HTTPS (set 1 behind TLS).
    SESSION_COOKIE_SECURE: bool = False
    # Log level for the structured (JSON lines) log on stderr.
    LOG_LEVEL: str = "INFO"
    # Extra overrides that are not environment variables (tests: TESTING, WTF_CSRF_ENABLED, …).
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read every field from the environment, falling back to the defaults above."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name == "extra" or f.name not in env:
                continue
            raw = env[f.name]
            if f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("bool", bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]
