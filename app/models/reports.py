"""The report summary (issue 14): per-day sums of the cases' events per grain, the days whose sums are stale,
and saved custom reports. app/domain/report_days.py says what is summed; app/services/report_summary.py keeps
it (the writes mark days stale, the scheduler refolds them, reports read stale days live)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.report_days import FIELDS
from app.models.base import Base


class ReportDay(Base):
    """The sums of one day's events for one key of one grain (e.g. grain "unit", key "u7")."""

    __tablename__ = "report_day"
    grain: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(90), primary_key=True)


for _name in FIELDS:  # one integer column per summed field, in the order of the domain's FIELDS
    setattr(ReportDay, _name, mapped_column(_name, Integer, nullable=False, default=0))


class ReportStaleMark(Base):
    """A day whose summary a write has made stale: one row per marking flush, appended (never updated, so two
    writers never wait on one row); a refold removes only the marks it saw, so a write it could not see yet
    leaves its mark for the next run."""

    __tablename__ = "report_stale_mark"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)


class SavedReport(Base):
    """A named custom report (dimensions, measure, filters, period kind), private or shared with the unit."""

    __tablename__ = "saved_report"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)  # set when shared
    name: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
