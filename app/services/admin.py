"""Administrators' edits that take effect at once: deadline rules, the working calendar, settings. All audited."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.domain.calendar import WorkCalendar
from app.domain.deadlines import COUNTED_FROM, InvalidDeadlineRule, TimeLimit
from app.errors import Invalid, NotFound, NotPermitted
from app.models import CalendarDay, CalendarYear, DeadlineRule, LocalHoliday, Setting, Unit
from app.services import audit, deadline_repair
from app.services.actors import Actor
from app.services.calendar import load_calendar, office_hours, unit_calendar
from app.services.platform import Platform
from app.services.settings import SCHEMAS, Check, boolean, choice, integer, problem_with, text

# What each editable field of a deadline rule is: its Chinese name and the check a new value must pass.
RULE_SCHEMA: dict[str, tuple[str, Check]] = {
    "name": ("名称", text(60, required=True)),
    "amount": ("时限", integer(1, 365)),
    "unit": ("计时单位", choice({"calendar_day": "日", "working_day": "工作日", "calendar_hour": "小时",
                                "working_hour": "工作小时"})),
    "count_start_day": ("是否计入起始日", boolean),
    "roll_forward": ("末日为休息日时顺延", boolean),
    "max_extension": ("最长延期", integer(0, 365)),
    "legal_basis": ("依据", text(2000)),
    "counted_from": ("起算点", choice(COUNTED_FROM)),
}
RULE_FIELDS = tuple(RULE_SCHEMA)


def _require(actor: Actor, permission: str) -> None:
    if not actor.can(permission):
        raise NotPermitted("没有权限执行此操作")


def update_rule(platform: Platform, actor: Actor, key: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a deadline rule; new tasks use it at once, running periods keep the due dates they have until
    the administrator applies the repair (app/services/deadline_repair.py, cause {"kind": "rule"})."""
    _require(actor, "settings.edit")
    with platform.db.unit_of_work() as session:
        row = session.get(DeadlineRule, key)
        if row is None:
            raise NotFound(f"时限规则不存在:{key}")
        _check_rule_changes(session, changes)
        before = {f: getattr(row, f) for f in RULE_FIELDS}
        after = {**before, **changes}
        try:
            TimeLimit(key=key, **after)
        except (InvalidDeadlineRule, TypeError) as e:
            raise Invalid(str(e), {"rule": str(e)}) from e
        for field, value in after.items():
            setattr(row, field, value)
        audit.record(session, platform, actor, "deadline_rule.changed",
                     detail={"key": key, "before": before, "after": after})
        session.commit()
        return {"key": key, **after}


def _check_rule_changes(session: Session, changes: dict[str, Any]) -> None:
    """Every field named must be a rule field with a value its schema allows; 422 naming each one."""
    errors = {}
    for field, value in changes.items():
        if field not in RULE_SCHEMA:
            errors[str(field)[:80]] = "不是可修改的时限规则字段"
            continue
        label, check = RULE_SCHEMA[field]
        if (problem := check(session, value)) is not None:
            errors[field] = f"「{label}」{problem}"
    if errors:
        raise Invalid(";".join(errors.values()), errors)


@dataclass(frozen=True)
class DayEntry:
    day: date
    is_workday: bool
    note: str = ""


FIRST_YEAR, LAST_YEAR = 2000, 2100  # calendars outside these are a typing slip, not a State Council notice


def _check_year(year: int, entries: list[DayEntry], source: str) -> None:
    """A year within reason, its entries all in it, each day once, notes and source within their columns."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        message = f"年份应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间"
        raise Invalid(message, {"year": message})
    if len(entries) > 366:
        raise Invalid("一年最多 366 个日期", {"entries": "一年最多 366 个日期"})
    wrong = [e.day.isoformat() for e in entries if e.day.year != year]
    if wrong:
        raise Invalid(f"日期不属于{year}年:{'、'.join(wrong[:10])}", {"entries": "日期必须属于同一年"})
    if twice := sorted(d.isoformat() for d, n in Counter(e.day for e in entries).items() if n > 1):
        raise Invalid(f"日期重复:{'、'.join(twice[:10])}", {"entries": "每个日期只能录入一次"})
    if any(len(e.note) > 40 for e in entries):
        raise Invalid("备注最多 40 个字符", {"entries": "每项的 note 最多 40 个字符"})
    if not source.strip() or len(source) > 60:
        raise Invalid("来源应为 1 到 60 个字符", {"source": "来源应为 1 到 60 个字符"})


def confirm_year(platform: Platform, actor: Actor, year: int, entries: list[DayEntry], source: str) -> int:
    """Enter a year's holidays and 调休 workdays (as published by the State Council) and confirm the year.
    Open tasks keep their dates (and waiting ones wait) until the administrator applies the repair
    (app/services/deadline_repair.py) with cause {"kind": "calendar_year", "year": year}."""
    _require(actor, "calendar.edit")
    _check_year(year, entries, source)
    with platform.db.unit_of_work() as session:
        _store_year(session, platform, actor, year, entries, source)
        session.commit()
    return len(entries)


def _store_year(session: Session, platform: Platform, actor: Actor, year: int, entries: list[DayEntry],
                source: str) -> None:
    before = session.get(CalendarYear, year)
    replaced = session.scalar(select(func.count()).select_from(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))) or 0
    session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                              CalendarDay.day <= date(year, 12, 31)))
    session.add_all(CalendarDay(day=e.day, is_workday=e.is_workday, note=e.note) for e in entries)
    previous = None if before is None else {"source": before.source, "entries": replaced}
    if before is None:
        session.add(CalendarYear(year=year, source=source, confirmed_at=platform.clock.now()))
    else:
        before.source, before.confirmed_at = source, platform.clock.now()
    session.flush()
    audit.record(session, platform, actor, "calendar.confirmed",
                 detail={"year": year, "entries": len(entries), "source": source, "before": previous})


def year_cause(year: int) -> deadline_repair.Cause:
    return deadline_repair.Cause("calendar_year", year=year)


def preview_year(platform: Platform, actor: Actor, year: int, entries: list[DayEntry]) -> dict[str, Any]:
    """The deadline repair confirming this year would make (which open tasks move, from → to); nothing is
    stored, so the administrator sees it before confirming."""
    _require(actor, "calendar.edit")
    _check_year(year, entries, "preview")
    return deadline_repair.preview_change(platform, actor, year_cause(year), lambda c: c.with_year(year, entries))


def enter_year(platform: Platform, actor: Actor, year: int, entries: list[DayEntry], source: str) -> dict[str, Any]:
    """Confirm the year and apply its deadline repair in one transaction; answers the repair (as previewed)."""
    _require(actor, "calendar.edit")
    _check_year(year, entries, source)
    with platform.db.unit_of_work() as session:
        _store_year(session, platform, actor, year, entries, source)
        repaired = deadline_repair.repair(session, platform, actor, year_cause(year))
        session.commit()
    return {"year": year, "entries": len(entries), "repair": repaired}


REGION_KINDS = ("district", "street")  # a 自治县/区 or a 民族乡/街道 sets its own festivals
MAX_LOCAL_SPAN = 31


@dataclass(frozen=True)
class LocalChange:
    """Local holidays of one region from `first` to `last`: set with `note`, or cleared (`note` None)."""

    region: int
    first: date
    last: date
    note: str | None

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def cause(self) -> deadline_repair.Cause:
        return deadline_repair.Cause("local_holiday", day=self.first, until=self.last, region=self.region)


def _check_local(session: Session, change: LocalChange) -> Unit:
    unit = session.get(Unit, change.region)
    if unit is None or not unit.active or unit.kind not in REGION_KINDS:
        raise Invalid("地方节假日只能设置给在用的区县或街道", {"region": "请选择在用的区县或街道"})
    if change.last < change.first:
        raise Invalid("结束日期不能早于开始日期", {"last": "结束日期不能早于开始日期"})
    if not FIRST_YEAR <= change.first.year <= LAST_YEAR or not FIRST_YEAR <= change.last.year <= LAST_YEAR:
        message = f"日期应在 {FIRST_YEAR} 到 {LAST_YEAR} 年之间"
        raise Invalid(message, {"first": message})
    if (change.last - change.first).days >= MAX_LOCAL_SPAN:
        message = f"一次最多设置连续 {MAX_LOCAL_SPAN} 天"
        raise Invalid(message, {"last": message})
    if change.note is not None and not 1 <= len(change.note.strip()) <= 40:
        raise Invalid("节日名称应为 1 到 40 个字符", {"note": "节日名称应为 1 到 40 个字符"})
    return unit


def _local_after(session: Session, change: LocalChange) -> dict[date, str]:
    """The region's local holidays as they would be after the change."""
    held = {h.day: h.note for h in session.scalars(select(LocalHoliday).where(LocalHoliday.unit_id == change.region))}
    for day in change.days():
        if change.note is None:
            held.pop(day, None)
        else:
            held[day] = change.note.strip()
    return held


def preview_local(platform: Platform, actor: Actor, change: LocalChange) -> dict[str, Any]:
    """The deadline repair setting (or clearing) these local holidays would make; nothing is stored."""
    _require(actor, "calendar.edit")
    with platform.db.reading() as session:
        _check_local(session, change)
        after = _local_after(session, change)
    return deadline_repair.preview_change(platform, actor, change.cause(),
                                          lambda c: c.with_local(change.region, after))


def change_local(platform: Platform, actor: Actor, change: LocalChange) -> dict[str, Any]:
    """Set or clear a region's local holidays and apply the deadline repair, in one transaction (audited
    with the days before and after)."""
    _require(actor, "calendar.edit")
    with platform.db.unit_of_work() as session:
        unit = _check_local(session, change)
        rows = {h.day: h for h in session.scalars(select(LocalHoliday).where(
            LocalHoliday.unit_id == change.region, LocalHoliday.day >= change.first, LocalHoliday.day <= change.last))}
        before = {d.isoformat(): h.note for d, h in sorted(rows.items())}
        for day in change.days():
            row = rows.get(day)
            if change.note is None and row is not None:
                session.delete(row)
            elif change.note is not None and row is None:
                session.add(LocalHoliday(unit_id=unit.id, day=day, note=change.note.strip()))
            elif change.note is not None and row is not None:
                row.note = change.note.strip()
        session.flush()
        after = {d.isoformat(): change.note.strip() for d in change.days()} if change.note is not None else {}
        audit.record(session, platform, actor, "calendar.local_holiday",
                     detail={"region": unit.id, "region_name": unit.name, "first": change.first.isoformat(),
                             "last": change.last.isoformat(), "before": before, "after": after})
        repaired = deadline_repair.repair(session, platform, actor, change.cause())
        session.commit()
    return {"days": len(change.days()), "repair": repaired}


def year_view(platform: Platform, actor: Actor, year: int, region: int | None = None) -> dict[str, Any]:
    """The year as the calendar page shows it: each month's days marked (working day, rest day, holiday,
    调休 workday, local holiday of the chosen region), the national entries, every region's local holidays,
    the office hours. An unconfirmed year has no months (nothing is guessed)."""
    _require(actor, "calendar.edit")
    with platform.db.reading() as session:
        calendar = load_calendar(session)
        confirmed = session.get(CalendarYear, year)
        units = {u.id: u for u in session.scalars(select(Unit).order_by(Unit.path))}
        days = list(session.scalars(select(CalendarDay).where(
            CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)).order_by(CalendarDay.day)))
        hours = office_hours(session)
        shown = unit_calendar(session, calendar, region) if region in units else calendar
    local = [{"id": r, "name": units[r].name, "days": sorted((d, n) for d, n in calendar.local_days(r).items()
                                                             if d.year == year)}
             for r in sorted(calendar.regions, key=lambda r: units[r].path) if r in units]
    return {"year": year, "confirmed": confirmed is not None, "source": confirmed.source if confirmed else None,
            "years": sorted(calendar.confirmed_years), "days": days, "local": [r for r in local if r["days"]],
            "months": _months(calendar, shown, year) if confirmed else [],
            "office_hours": "、".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in hours),
            "region": region if region in units else None,
            "regions": [(u.id, u.name) for u in units.values() if u.active and u.kind in REGION_KINDS]}


DayCell = tuple[date, str, str] | None  # (day, mark, note); None pads a week


def _months(national: WorkCalendar, shown: WorkCalendar, year: int) -> list[list[list[DayCell]]]:
    """Twelve months of weeks (Monday first, None-padded as day 0) of (day, mark, note): mark is work, rest,
    holiday, adjusted (调休上班) or local (a holiday of the chosen region only)."""
    months = []
    for month in range(1, 13):
        first = date(year, month, 1)
        cells: list[DayCell] = [None] * first.weekday()
        day = first
        while day.month == month:
            note = shown.note(day) or ""
            if shown.is_working_day(day):
                mark = "adjusted" if day.weekday() >= 5 else "work"
            elif national.is_working_day(day):
                mark = "local"
            else:
                mark = "holiday" if national.note(day) else "rest"
            cells.append((day, mark, note))
            day += timedelta(days=1)
        cells += [None] * (-len(cells) % 7)
        months.append([cells[i:i + 7] for i in range(0, len(cells), 7)])
    return months


def calendar_years(platform: Platform) -> list[int]:
    with platform.db.reading() as session:
        return list(session.scalars(select(CalendarYear.year).order_by(CalendarYear.year)))


def change_setting(platform: Platform, actor: Actor, key: str, value: Any) -> None:
    """Set a parameter; it is read on each use, so it acts at once."""
    _require(actor, "settings.edit")
    if key not in SCHEMAS:
        raise Invalid(f"未知参数:{key[:80]}", {"key": "未知参数"})
    with platform.db.unit_of_work() as session:
        if (problem := problem_with(session, key, value)) is not None:
            raise Invalid(problem, {"value": problem})
        row = session.get(Setting, key)
        before = row.value.get("value") if row else SCHEMAS[key].default
        if row is None:
            session.add(Setting(key=key, value={"value": value}, updated_at=platform.clock.now(),
                                updated_by_id=actor.user_id))
        else:
            row.value, row.updated_at, row.updated_by_id = {"value": value}, platform.clock.now(), actor.user_id
        secret = "credential" in key
        audit.record(session, platform, actor, "setting.changed",
                     detail={"key": key, "before": "***" if secret else before, "after": "***" if secret else value})
        session.commit()
