"""What citizens leave behind: files attached to a case, and the SMS codes that prove a phone at /portal/lookup."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class StoredFile:
    """What an uploaded file keeps wherever it belongs (a case, a 知识库 entry): checked by its content (images
    re-encoded without EXIF, PDFs), stored under a generated name outside the web root; the sender's name only shown."""

    stored_name: Mapped[str] = mapped_column(String(80), unique=True)  # relative to the attachment folder
    filename: Mapped[str] = mapped_column(String(120))  # as sent, cleaned; never used as a path
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class Attachment(StoredFile, Base):
    """A file of a case (INSTANCE_PATH/attachments)."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # portal, intake, api
    created_at: Mapped[datetime]


class PortalChallenge(Base):
    """An SMS code sent to a requester's phone for a look-up by phone + ID number; only hashes are kept."""

    __tablename__ = "portal_challenge"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
