"""Every environment variable Huiyin reads, with its default: this list is the deployment documentation."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("production", "development", "test")


@dataclass(frozen=True)
class Settings:
    """Configuration read once at start; `create_app(config)` may override any field for tests."""

    # SQLAlchemy URL; the embedded default is a SQLite file under instance/.
    DATABASE_URL: str = f"sqlite:///{ROOT / 'instance' / 'huiyin.db'}"
    # A streaming replica (deploy/postgresql/replica.md) for report and export queries (`Database.reporting`);
    # empty: they read DATABASE_URL. Everything that writes stays on DATABASE_URL.
    REPORTS_DATABASE_URL: str = ""
    # Folder for the SQLite file, generated dev keys and uploaded files.
    INSTANCE_PATH: str = str(ROOT / "instance")
    # Where call recordings and voicemail files from the PBX are kept (default: INSTANCE_PATH/recordings).
    RECORDINGS_DIR: str = ""
    # Flask session signing key (32+ random bytes, urlsafe base64); dev: generated into instance/.
    SECRET_KEY: str = ""
    # AES-256-GCM key for personal data at rest (urlsafe base64 of 32 bytes); dev: generated.
    DATA_KEY: str = ""
    # Earlier DATA_KEYs, comma-separated, kept only to decrypt rows not yet rewrapped (`flask keys rewrap`)
    # and backups made under them; with DATA_KEY unset, instance/keys.json holds them.
    DATA_KEYS_RETIRED: str = ""
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
    # A new password may not repeat any of the user's last N passwords (the current one included).
    PASSWORD_HISTORY: int = 5
    # Password for every demo account created by `flask seed-demo`; never accepted as a new password.
    DEMO_PASSWORD: str = "Huiyin@2026"  # noqa: S105 — demo only, printed at start
    # "production", "development" or "test"; empty = test under TESTING, development while any key is
    # generated into instance/ (none configured), production once all four keys come from the environment.
    ENVIRONMENT: str = ""
    # HTTPS only: the Secure flag on the session cookie and HSTS on HTTPS answers. Empty = on in
    # production, off otherwise; 1 / 0 force it (0 only for a production served over plain HTTP on purpose).
    SESSION_COOKIE_SECURE: bool | None = None
    # Strict-Transport-Security max-age in seconds, sent on HTTPS answers while SESSION_COOKIE_SECURE is on.
    HSTS_MAX_AGE: int = 31536000
    # Reverse proxies in front of the app whose X-Forwarded-For / -Proto are trusted (0 = none: the TCP peer
    # is the client). Behind nginx set 1, or every client shares the proxy's address and its rate limit.
    PROXY_HOPS: int = 0
    # Rate limits as "count/seconds", counted in the rate_limit_counter table so every worker and host
    # shares them (docs/security.md). Sign-in attempts — the /login page and POST /api/v1/auth/token
    # together — per client address (IPv6: per /64), checked before any password is hashed …
    RATE_LIMIT_SIGN_IN_ADDRESS: str = "30/60"
    # … and per 工号, from whatever address.
    RATE_LIMIT_SIGN_IN_STAFF_NO: str = "10/900"
    # Requests per client address to a public endpoint without sign-in (the citizens' portal, Open311).
    RATE_LIMIT_PUBLIC_ADDRESS: str = "60/60"
    # Requests signed with a channel key (POST /api/v1/channel/cases, Open311 POST requests) per client address,
    # counted before the key is looked up (a key-guessing flood stops here) …
    RATE_LIMIT_CHANNEL_ADDRESS: str = "600/60"
    # … and per channel key, from whatever address (one integration cannot starve the others).
    RATE_LIMIT_CHANNEL_KEY: str = "120/60"
    # The citizens' portal (/portal, /portal/lookup, POST /api/v1/portal/lookup): submissions per address …
    RATE_LIMIT_PORTAL_SUBMIT_ADDRESS: str = "10/3600"
    # … and from everyone together (a flood from many addresses stops here, not at the database).
    RATE_LIMIT_PORTAL_SUBMIT_ALL: str = "600/60"
    # Look-ups (受理号 + 查询码, or phone + ID + SMS code) per address, per 受理号 or phone tried, per
    # 查询码 tried, and overall: a 60-bit 查询码 cannot be guessed within them.
    RATE_LIMIT_PORTAL_LOOKUP_ADDRESS: str = "30/300"
    RATE_LIMIT_PORTAL_LOOKUP_NUMBER: str = "10/3600"
    RATE_LIMIT_PORTAL_LOOKUP_CODE: str = "10/3600"
    RATE_LIMIT_PORTAL_LOOKUP_PHONE: str = "10/3600"
    RATE_LIMIT_PORTAL_LOOKUP_ALL: str = "3000/60"
    # SMS look-up codes sent per address, per phone, and overall (each is a text message paid for).
    RATE_LIMIT_PORTAL_SMS_ADDRESS: str = "5/3600"
    RATE_LIMIT_PORTAL_SMS_PHONE: str = "3/3600"
    RATE_LIMIT_PORTAL_SMS_ALL: str = "200/60"
    # Attachments (portal and staff intake): the largest file in bytes (checked by content: JPEG, PNG, PDF)
    # and how many one submission may carry; files live in INSTANCE_PATH/attachments, outside the web root.
    ATTACHMENT_MAX_BYTES: int = 5 * 1024 * 1024
    ATTACHMENT_MAX_FILES: int = 5
    # Folder for `flask backup` files and their listing (default: INSTANCE_PATH/backups).
    BACKUP_DIR: str = ""
    # Log level for the structured (JSON lines) log on stderr.
    LOG_LEVEL: str = "INFO"
    # Extra overrides that are not environment variables (tests: TESTING, WTF_CSRF_ENABLED, …).
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse at start what would fail later: an unknown environment, a malformed rate limit."""
        if self.ENVIRONMENT not in ("", *ENVIRONMENTS):
            raise ValueError(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {self.ENVIRONMENT!r}")
        for f in fields(self):
            if f.name.startswith("RATE_LIMIT_"):
                self.rate_limit(f.name)

    def rate_limit(self, name: str) -> tuple[int, int]:
        """A RATE_LIMIT_* setting as (count, seconds), both at least 1."""
        raw = str(getattr(self, name))
        count, _, seconds = raw.partition("/")
        if not (count.strip().isdigit() and seconds.strip().isdigit() and int(count) > 0 and int(seconds) > 0):
            raise ValueError(f"{name} must read 'count/seconds', e.g. '30/60', not {raw!r}")
        return int(count), int(seconds)

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
                values[f.name] = _truthy(raw)
            elif f.type == "bool | None":
                values[f.name] = None if raw.strip().lower() in ("", "auto") else _truthy(raw)
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    @property
    def environment(self) -> str:
        """Where this install runs: the ENVIRONMENT setting, else derived as its comment says."""
        if self.ENVIRONMENT:
            return self.ENVIRONMENT
        if self.extra.get("TESTING"):
            return "test"
        keys = (self.SECRET_KEY, self.DATA_KEY, self.SEARCH_KEY, self.AUDIT_KEY)
        return "production" if all(keys) else "development"

    @property
    def https_only(self) -> bool:
        """Whether the session cookie is Secure and HSTS is sent: on by default in production."""
        if self.SESSION_COOKIE_SECURE is not None:
            return self.SESSION_COOKIE_SECURE
        return self.environment == "production"


def _truthy(raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")
