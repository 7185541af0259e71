"""Saved combined queries and export jobs (issue 14). An export past the background threshold is a row the
scheduler claims (`FOR UPDATE SKIP LOCKED`), never a thread in a web worker; its file lies under the instance
path and only its creator may download it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

# The case text index: PostgreSQL pg_trgm GIN indexes and SQLite's FTS5 table (external content on "case",
# kept by triggers) are no model: schema comparison leaves them alone.
CASE_FTS_TABLE = "case_fts"
CASE_TEXT_INDEXES = frozenset({"ix_case_subject_trgm", "ix_case_content_trgm"})
CASE_FTS_TABLES = frozenset({CASE_FTS_TABLE, *(f"{CASE_FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config"))})


class SavedQuery(Base):
    """A named set of conditions (query parameters, sort included), private or shared with the owner's unit."""

    __tablename__ = "saved_query"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)  # set when shared with the unit
    name: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class ExportJob(Base):
    """One export of a query (or a report): its progress, and the file once written."""

    __tablename__ = "export_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(40), default="cases")  # what is exported: the query, a report
    params: Mapped[dict[str, Any]]
    format: Mapped[str] = mapped_column(String(8))  # csv, xlsx
    reveal: Mapped[bool] = mapped_column(default=False)  # personal data unmasked where the owner may see it
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending, running, done, failed
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    file_name: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
