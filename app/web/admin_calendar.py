"""The 系统管理员's calendar page (/admin/calendar): a year's holidays and 调休 workdays, a year entered by
pasting the State Council notice ("2027-01-01 休" / "2027-02-07 班"), compared with chinese-calendar when
it knows the year, then confirmed by admin.confirm_year (no deadline-repair preview exists yet)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.domain.calendar import CalendarYearMissing, official_calendar_entries
from app.errors import Invalid
from app.models import CalendarDay
from app.services import admin
from app.web.context import current_actor, platform, requires

bp = Blueprint("admin_calendar", __name__, url_prefix="/admin/calendar")
MARKS = {"休": False, "班": True, "holiday": False, "workday": True}


def parse(year: int, text: str) -> list[admin.DayEntry]:
    """One day a line: date, 休 or 班, an optional note (spaces or commas between); 422 naming the line."""
    entries = []
    for n, line in enumerate(text.splitlines(), start=1):
        cells = [c for c in line.replace(",", " ").replace(",", " ").split() if c]
        if not cells:
            continue
        try:
            day = date.fromisoformat(cells[0])
            is_workday = MARKS[cells[1]]
        except (ValueError, KeyError, IndexError) as e:
            message = f"第 {n} 行应为「YYYY-MM-DD 休」或「YYYY-MM-DD 班」"
            raise Invalid(message, {"entries": message}) from e
        entries.append(admin.DayEntry(day, is_workday, " ".join(cells[2:])[:40]))
    return entries


def _page(year: int, status: int = 200, **more: object) -> ResponseReturnValue:
    with platform().db.reading() as session:
        days = list(session.scalars(select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                             CalendarDay.day <= date(year, 12, 31))
                                    .order_by(CalendarDay.day)))
    return render_template("admin/calendar.html", year=year, years=admin.calendar_years(platform()), days=days,
                           **{"error": None, "diff": None, "text": "", **more}), status


@bp.get("")
@requires("calendar.edit")
def year_view() -> ResponseReturnValue:
    year = request.args.get("year", type=int) or platform().clock.now().year
    return _page(year if 2000 <= year <= 2100 else platform().clock.now().year)


@bp.post("")
@requires("calendar.edit")
def enter_year() -> ResponseReturnValue:
    year = request.form.get("year", type=int) or 0
    text = request.form.get("entries", "")
    try:
        entries = parse(year, text)
        if request.form.get("confirm") != "1":
            try:
                official = {e.day: e.is_workday for e in official_calendar_entries(year)}
            except CalendarYearMissing:
                official = None
            mine = {e.day: e.is_workday for e in entries}
            diff = None if official is None else sorted(
                (d.isoformat(), mine.get(d), official.get(d)) for d in mine.keys() | official.keys()
                if mine.get(d) != official.get(d))
            return _page(year if 2000 <= year <= 2100 else 2000, diff=diff, text=text, compared=True,
                         known=official is not None)
        count = admin.confirm_year(platform(), current_actor(), year, entries, "国务院办公厅通知(管理员录入)")
    except Invalid as e:
        return _page(year if 2000 <= year <= 2100 else 2000, 422, error=e, text=text)
    flash(f"已确认 {year} 年工作日历({count} 个特殊日期)", "ok")
    return redirect(url_for("admin_calendar.year_view", year=year))
