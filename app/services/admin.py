"""Administrators' edits that take effect at once: deadline rules, the working calendar, settings. All audited."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.domain.deadlines import COUNTED_FROM, InvalidDeadlineRule, TimeLimit
from app.errors import Invalid, NotFound, NotPermitted
from app.models import CalendarDay, CalendarYear, DeadlineRule, Setting
from app.services import audit
from app.services.actors import Actor
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
        session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                  CalendarDay.day <= date(year, 12, 31)))
        session.add_all(CalendarDay(day=e.day, is_workday=e.is_workday, note=e.note) for e in entries)
        existing = session.get(CalendarYear, year)
        if existing is None:
            session.add(CalendarYear(year=year, source=source, confirmed_at=platform.clock.now()))
        else:
            existing.source, existing.confirmed_at = source, platform.clock.now()
        session.flush()
        audit.record(session, platform, actor, "calendar.confirmed",
                     detail={"year": year, "entries": len(entries), "source": source})
        session.commit()
    return len(entries)


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
