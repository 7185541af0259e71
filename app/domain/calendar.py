"""The working calendar: which days are 工作日, built from confirmed official entries, never guessed.

Exceptions: ``CalendarYearMissing`` — a date falls in a year nobody has confirmed.

Weekdays are working days and weekends rest days unless a ``CalendarDay`` entry says otherwise
(statutory holidays on weekdays, 调休 Saturdays/Sundays that are workdays). Any question about a
date in a year outside ``confirmed_years`` raises, because the State Council publishes each year's
holidays only around November and a wrong guess silently moves legal deadlines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

import chinese_calendar

__all__ = [
    "CalendarDay",
    "CalendarDayLike",
    "CalendarYearMissing",
    "WorkCalendar",
    "official_calendar_entries",
]

ONE_DAY = timedelta(days=1)


class CalendarYearMissing(LookupError):
    """A date falls in a year whose working calendar nobody has confirmed."""

    def __init__(self, year: int) -> None:
        self.year = year
        self.message = f"{year} 年的工作日历尚未确认，无法计算期限，请管理员录入并确认该年度的节假日与调休安排。"
        super().__init__(
            f"{self.message}"
            f" / The working calendar for {year} has not been confirmed; an administrator must enter "
            f"and confirm that year's holidays and adjusted workdays before deadlines can be computed."
        )


class CalendarDayLike(Protocol):
    """Anything with the three ``calendar_day`` columns (a ``CalendarDay`` or a database row)."""

    @property
    def day(self) -> date: ...

    @property
    def is_workday(self) -> bool: ...

    @property
    def note(self) -> str | None: ...


@dataclass(frozen=True)
class CalendarDay:
    """One day that differs from (or annotates) the weekday/weekend default, e.g. 国庆节 or 调休上班."""

    day: date
    is_workday: bool
    note: str | None = None


class WorkCalendar:
    """Answers working-day questions for the confirmed years only."""

    def __init__(self, entries: Iterable[CalendarDayLike], confirmed_years: Iterable[int],
                 local: Iterable[tuple[int, CalendarDayLike]] = ()) -> None:
        self._confirmed = frozenset(confirmed_years)
        self._workday: dict[date, bool] = {}
        self._note: dict[date, str] = {}
        for entry in entries:
            self._workday[entry.day] = bool(entry.is_workday)
            if entry.note:
                self._note[entry.day] = entry.note
        self._local: dict[int, dict[date, str]] = {}
        for region, entry in local:
            self._local.setdefault(region, {})[entry.day] = entry.note or ""
        self._regional: dict[tuple[int, ...], WorkCalendar] = {}

    @property
    def regions(self) -> frozenset[int]:
        """The regions that set local holidays."""
        return frozenset(self._local)

    def local_days(self, region: int) -> dict[date, str]:
        """The local holidays one region set, day → note."""
        return dict(self._local.get(region, {}))

    def for_region(self, regions: Iterable[int]) -> WorkCalendar:
        """The calendar of a unit inside ``regions`` (itself and the units above it): their local holidays
        are rest days too, even on a 调休 workday. Without local holidays there, this calendar itself."""
        hit = tuple(sorted({r for r in regions if r in self._local}))
        if not hit:
            return self
        if hit not in self._regional:
            regional = WorkCalendar((), self._confirmed)
            regional._workday, regional._note = dict(self._workday), dict(self._note)
            for region in hit:
                for day, note in self._local[region].items():
                    regional._workday[day] = False
                    regional._note[day] = note or regional._note.get(day, "")
            self._regional[hit] = regional
        return self._regional[hit]

    def with_year(self, year: int, entries: Iterable[CalendarDayLike]) -> WorkCalendar:
        """This calendar as it would be with ``year`` confirmed as ``entries`` (its old entries replaced,
        local holidays kept): what a repair preview computes with before anything is stored."""
        kept = [CalendarDay(d, w, self._note.get(d)) for d, w in self._workday.items() if d.year != year]
        local = [(r, CalendarDay(d, False, n)) for r, days in self._local.items() for d, n in days.items()]
        return WorkCalendar([*kept, *entries], self._confirmed | {year}, local)

    def with_local(self, region: int, days: Mapping[date, str] | None) -> WorkCalendar:
        """This calendar with ``region``'s local holidays replaced by ``days`` (None or empty: it has none)."""
        local = [(r, CalendarDay(d, False, n)) for r, held in self._local.items() if r != region
                 for d, n in held.items()]
        local += [(region, CalendarDay(d, False, n)) for d, n in (days or {}).items()]
        return WorkCalendar([CalendarDay(d, w, self._note.get(d)) for d, w in self._workday.items()],
                            self._confirmed, local)

    @property
    def confirmed_years(self) -> frozenset[int]:
        """The years this calendar may answer for."""
        return self._confirmed

    def covers(self, d: date) -> bool:
        """Whether ``d`` lies in a confirmed year."""
        return d.year in self._confirmed

    def _check(self, d: date) -> None:
        if d.year not in self._confirmed:
            raise CalendarYearMissing(d.year)

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day (an explicit entry wins over the weekday/weekend default)."""
        self._check(d)
        explicit = self._workday.get(d)
        if explicit is not None:
            return explicit
        return d.weekday() < 5

    def is_rest_day(self, d: date) -> bool:
        """Whether ``d`` is a weekend or holiday rest day."""
        return not self.is_working_day(d)

    def note(self, d: date) -> str | None:
        """The entry's note for ``d`` ('国庆节', '国庆节调休上班', …), or None."""
        self._check(d)
        return self._note.get(d)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        day = d + ONE_DAY
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        day = d - ONE_DAY
        while not self.is_working_day(day):
            day -= ONE_DAY
        return day

    def working_day_on_or_after(self, d: date) -> date:
        """``d`` if it is a working day, otherwise the next one (the 民法典 art. 203 roll-forward)."""
        return d if self.is_working_day(d) else self.next_working_day(d)

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start``, which itself is not counted; ``n=0`` gives ``start``."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        day = start
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days lie in (start, end] — the start day excluded, the end day included."""
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        count = 0
        day = start + ONE_DAY
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += ONE_DAY
        return count


def official_calendar_entries(year: int) -> list[CalendarDay]:
    """The State Council's holidays and 调休 workdays for ``year``, as carried by ``chinese_calendar``.

    Holidays that fall on a weekend are included too so the calendar can show their names.
    Raises ``CalendarYearMissing`` for a year the installed package does not know.
    """
    entries: list[CalendarDay] = []
    day = date(year, 1, 1)
    while day.year == year:
        try:
            is_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError as exc:
            raise CalendarYearMissing(year) from exc
        if name is not None:
            chinese = chinese_calendar.Holiday(name).chinese
            if is_holiday:
                entries.append(CalendarDay(day, is_workday=False, note=chinese))
            else:
                entries.append(CalendarDay(day, is_workday=True, note=f"{chinese}调休上班"))
        day += ONE_DAY
    return entries
