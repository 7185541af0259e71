"""Channel keys: what an integration (WeChat mini-program, app, 市长信箱, website, Open311) signs its requests
with, and the cases each key submitted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ChannelKey(Base):
    """One integration's key, stored as a keyed hash (HMAC-SHA256 under SEARCH_KEY); the key fixes the
    channel of everything it submits. Revoked is final: a new key is a new row."""

    __tablename__ = "channel_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # a `channel` dictionary code
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the key's first characters, to tell keys apart on lists
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(60))  # 工号, or 'cli'
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class ChannelSubmission(Base):
    """A case a channel key registered, with the opaque token its client may look the case up by
    (Open311 `tokens/{token}`)."""

    __tablename__ = "channel_submission"
    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("channel_key.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    media_url: Mapped[str | None] = mapped_column(String(500))  # a photo link the client sent (never fetched)
    created_at: Mapped[datetime]
