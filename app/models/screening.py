"""矛盾纠纷排查: the keywords a case's text matched (one row per case and word) and the 排查表 staff fill for
a dispute found on the ground."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class CaseFlag(Base):
    """A screening keyword found in a case's subject or content (app/domain/screening.py)."""

    __tablename__ = "case_flag"
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    word: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[str] = mapped_column(String(10), index=True)  # high, medium, low
    matched_at: Mapped[datetime] = mapped_column(index=True)


class DisputeScreening(Base):
    """One 矛盾纠纷排查表: a dispute staff found on the ground, its parties, level and the measures taken."""

    __tablename__ = "dispute_screening"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    found_on: Mapped[date]
    place: Mapped[str] = mapped_column(String(200))
    dispute_type: Mapped[str] = mapped_column(String(40))
    parties: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(10))
    people_involved: Mapped[int] = mapped_column(default=1)
    measures: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
