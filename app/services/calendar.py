"""Reading deadline rules and the working calendar out of their tables into domain objects."""

from __future__ import annotations

from datetime import time
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.calendar import WorkCalendar
from app.domain.deadlines import CountedFrom, OfficeHours, PeriodUnit, TimeLimit
from app.errors import NotFound
from app.models import CalendarDay, CalendarYear, DeadlineRule
from app.services.settings import get_setting


def load_calendar(session: Session) -> WorkCalendar:
    """The calendar as administrators have confirmed it: entries plus the confirmed years."""
    return WorkCalendar(session.scalars(select(CalendarDay)).all(),
                        session.scalars(select(CalendarYear.year)).all())


def load_rule(session: Session, key: str) -> TimeLimit:
    row = session.get(DeadlineRule, key)
    if row is None:
        raise NotFound(f"时限规则不存在:{key}")
    return TimeLimit(key=row.key, name=row.name, amount=row.amount, unit=cast(PeriodUnit, row.unit),
                        legal_basis=row.legal_basis, count_start_day=row.count_start_day,
                        roll_forward=row.roll_forward, max_extension=row.max_extension,
                        counted_from=cast(CountedFrom, row.counted_from))


def office_hours(session: Session) -> OfficeHours:
    """The calendar's office hours (setting `calendar.office_hours`), for working-hour rules."""
    return tuple((time.fromisoformat(a), time.fromisoformat(b))
                 for a, b in get_setting(session, "calendar.office_hours"))
