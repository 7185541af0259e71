"""Reading deadline rules and the working calendar out of their tables into domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from typing import Any, cast

from sqlalchemy import Date, Integer, false, null, select, union_all
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from app.db import kept
from app.domain.calendar import CalendarDay as Day
from app.domain.calendar import WorkCalendar
from app.domain.deadlines import CountedFrom, OfficeHours, PeriodUnit, TimeLimit
from app.errors import NotFound
from app.models import CalendarDay, CalendarYear, DeadlineRule, LocalHoliday, Unit
from app.services.settings import get_setting


def load_calendar(session: Session) -> WorkCalendar:
    """The calendar as administrators have confirmed it: entries, every region's local holidays and the
    confirmed years; built once in a process while the calendar tables are unchanged (`kept`), however many
    runs and rows of a page count working days. A task's own calendar is `unit_calendar` of it."""
    return kept(session, "calendar", lambda: _read_calendar(session))


def _read_calendar(session: Session) -> WorkCalendar:
    """One statement for days, local holidays and confirmed years."""
    rows: Sequence[Any] = session.execute(union_all(
        select(CalendarDay.day, CalendarDay.is_workday, CalendarDay.note, sql_cast(null(), Integer).label("region")),
        select(LocalHoliday.day, false(), LocalHoliday.note, LocalHoliday.unit_id),
        select(sql_cast(null(), Date), false(), null(), -CalendarYear.year))).all()  # a confirmed year: its negative
    national = [Day(d, bool(w), n) for d, w, n, region in rows if region is None]
    local = [(region, Day(d, False, n)) for d, _, n, region in rows if region is not None and region > 0]
    years = [-region for _, _, _, region in rows if region is not None and region < 0]
    return WorkCalendar(national, years, local)


def unit_regions(session: Session, unit_id: int | None) -> list[int]:
    """The unit and every unit above it (its path), the regions whose local holidays it keeps."""
    unit = session.get(Unit, unit_id) if unit_id else None
    return [int(part) for part in unit.path.strip("/").split("/") if part] if unit and unit.path else []


def unit_calendar(session: Session, calendar: WorkCalendar, unit_id: int | None) -> WorkCalendar:
    """The calendar the deadlines of a task at `unit_id` count by: the local holidays of its regions added
    (no unit, or no region with local holidays: the calendar itself, and nothing is read)."""
    if not calendar.regions or not unit_id:
        return calendar
    return calendar.for_region(unit_regions(session, unit_id))


def load_rule(session: Session, key: str) -> TimeLimit:
    rule = _rules(session).get(key)
    if rule is None:
        raise NotFound(f"时限规则不存在:{key}")
    return rule


def load_rules(session: Session) -> dict[str, TimeLimit]:
    """Every deadline rule by key (a page showing several)."""
    return dict(_rules(session))


def _rules(session: Session) -> dict[str, TimeLimit]:
    """The rules, read in one query when they changed (`kept`); shared, so never changed by a caller."""
    return kept(session, "deadline_rule", lambda: {row.key: _time_limit(row)
                                                   for row in session.scalars(select(DeadlineRule))})


def _time_limit(row: DeadlineRule) -> TimeLimit:
    return TimeLimit(key=row.key, name=row.name, amount=row.amount, unit=cast(PeriodUnit, row.unit),
                        legal_basis=row.legal_basis, count_start_day=row.count_start_day,
                        roll_forward=row.roll_forward, max_extension=row.max_extension,
                        counted_from=cast(CountedFrom, row.counted_from))


def office_hours(session: Session) -> OfficeHours:
    """The calendar's office hours (setting `calendar.office_hours`), for working-hour rules."""
    return tuple((time.fromisoformat(a), time.fromisoformat(b))
                 for a, b in get_setting(session, "calendar.office_hours"))
