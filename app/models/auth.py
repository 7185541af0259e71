"""Server-side sign-in sessions, hashed API tokens, password history and rate-limit counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class UserSession(Base):
    """A signed-in browser; the cookie holds a random token, the row only its SHA-256."""

    __tablename__ = "user_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A bearer token for a machine client or a signed-in API user, stored hashed and revocable."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(40))  # 'user' (acts as user_id) or a machine scope: 'calls'
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Why it ended, a code: 'revoked', 'password_changed', 'locked', 'deactivated', 'signed_out_everywhere'.
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    last_used_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))  # the address that asked for it, shown to its user


class PasswordHistory(Base):
    """An argon2 hash of a password the user had before; only the newest few are kept."""

    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    replaced_at: Mapped[datetime]


class RateLimitCounter(Base):
    """Requests counted in one window for one bucket and caller (address or 工号, hashed into the key),
    shared by every worker and host through the database."""

    __tablename__ = "rate_limit_counter"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    hits: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(index=True)
