"""Reading deadline rules and the working calendar out of their tables into domain objects."""

from __future__ import annotations

from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.calendar import WorkCalendar
from app.domain.deadlines import DeadlineRule, Unit
from app.errors import NotFound
from app.models import CalendarDay, CalendarYear
from app.models import DeadlineRule as DeadlineRuleRow


def load_calendar(session: Session) -> WorkCalendar:
    """The calendar as administrators have confirmed it: entries plus the confirmed years."""
    return WorkCalendar(session.scalars(select(CalendarDay)).all(),
                        session.scalars(select(CalendarYear.year)).all())


def load_rule(session: Session, key: str) -> DeadlineRule:
    row = session.get(DeadlineRuleRow, key)
    if row is None:
        raise NotFound(f"时限规则不存在:{key}")
    return DeadlineRule(key=row.key, name=row.name, amount=row.amount, unit=cast(Unit, row.unit),
                        legal_basis=row.legal_basis, count_start_day=row.count_start_day,
                        roll_forward=row.roll_forward, max_extension=row.max_extension)
