"""Deadline rules (办理时限) and the period arithmetic of 民法典 arts. 201 and 203.

Exceptions (all ``ValueError``): ``DeadlineError`` ← ``InvalidDeadlineRule`` (a rule's data is
inconsistent), ``ExtensionRefused`` (an 延期 the rule does not allow). A date in an unconfirmed year
raises ``CalendarYearMissing`` from the calendar.

Period rules: the start day is not counted (unless the rule says so); a calendar-day period whose
last day is a rest day ends on the next working day; a 调休 Saturday that is a workday is a
working day, so a period ending on it does not roll. Working-day periods always end on a working day.

Times: ``due_at`` returns the end of the due day, 23:59:59. Naive datetimes are Asia/Shanghai local
time (the platform's convention); an aware ``start`` is converted to UTC+8 first and the result is
aware in UTC+8 (China has had no daylight saving since 1991, so a fixed offset is exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal, get_args

from app.domain.calendar import WorkCalendar

__all__ = [
    "CHINA_TIME",
    "END_OF_DAY",
    "SEED_RULES",
    "DeadlineError",
    "DeadlineRule",
    "ExtensionRefused",
    "InvalidDeadlineRule",
    "Unit",
    "due_at",
    "due_date",
    "end_of_day",
    "extended_due_date",
    "seed_rule",
]

Unit = Literal["calendar_day", "working_day"]
UNIT_LABELS: dict[str, str] = {"calendar_day": "日", "working_day": "个工作日"}
CHINA_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


class DeadlineError(ValueError):
    """Base of the deadline errors; the message is Chinese, for the user."""


class InvalidDeadlineRule(DeadlineError):
    """A deadline rule's data cannot be used (e.g. an unknown unit or a negative amount)."""


class ExtensionRefused(DeadlineError):
    """An extension the rule does not allow (too long, not positive, or none allowed)."""


@dataclass(frozen=True, kw_only=True)
class DeadlineRule:
    """One row of the deadline rule table: how long a step may take, and on what legal basis."""

    key: str
    name: str
    amount: int
    unit: Unit
    legal_basis: str
    count_start_day: bool = False
    roll_forward: bool = True
    max_extension: int = 0

    def __post_init__(self) -> None:
        if self.unit not in get_args(Unit):
            raise InvalidDeadlineRule(f"时限规则 {self.key} 的单位无效：{self.unit!r}")
        if self.amount < 1:
            raise InvalidDeadlineRule(f"时限规则 {self.key} 的时限必须至少为 1，当前为 {self.amount}")
        if self.max_extension < 0:
            raise InvalidDeadlineRule(f"时限规则 {self.key} 的最长延期不能为负数")

    @property
    def label(self) -> str:
        """The limit as users say it, e.g. '60日' or '5个工作日'."""
        return f"{self.amount}{UNIT_LABELS[self.unit]}"


def _count(unit: Unit, start: date, amount: int, calendar: WorkCalendar, roll_forward: bool) -> date:
    """The last day of a period of ``amount`` units counted from the day after ``start``."""
    if unit == "working_day":
        return calendar.add_working_days(start, amount)
    last = start + timedelta(days=amount)
    return calendar.working_day_on_or_after(last) if roll_forward else last


def due_date(rule: DeadlineRule, start: date, calendar: WorkCalendar) -> date:
    """The last day of the period that begins on ``start`` (day 0)."""
    if not rule.count_start_day:
        return _count(rule.unit, start, rule.amount, calendar, rule.roll_forward)
    # The start day is day 1: for calendar days that is one day less; for working days only if
    # the start day is itself a working day.
    if rule.unit == "calendar_day" or calendar.is_working_day(start):
        return _count(rule.unit, start, rule.amount - 1, calendar, rule.roll_forward)
    return _count(rule.unit, start, rule.amount, calendar, rule.roll_forward)


def end_of_day(d: date, tzinfo: timezone | None = None) -> datetime:
    """23:59:59 on ``d`` — the moment a step due on ``d`` turns overdue after."""
    return datetime.combine(d, END_OF_DAY, tzinfo=tzinfo)


def due_at(rule: DeadlineRule, start: datetime, calendar: WorkCalendar) -> datetime:
    """The end of the due day of a period that begins at ``start`` (naive = Asia/Shanghai local time)."""
    if start.tzinfo is None:
        return end_of_day(due_date(rule, start.date(), calendar))
    local = start.astimezone(CHINA_TIME)
    return end_of_day(due_date(rule, local.date(), calendar), tzinfo=CHINA_TIME)


def extended_due_date(
    rule: DeadlineRule,
    current_due: date,
    requested_amount: int,
    calendar: WorkCalendar,
    *,
    already_extended: int = 0,
) -> date:
    """The new due day after an 延期 of ``requested_amount`` (the rule's unit), counted from ``current_due``.

    ``already_extended`` is what earlier extensions of the same step used; the total may not
    exceed ``rule.max_extension``.
    """
    unit = UNIT_LABELS[rule.unit]
    if requested_amount < 1:
        raise ExtensionRefused(f"延期时长必须至少为 1{unit}")
    if rule.max_extension == 0:
        raise ExtensionRefused(f"「{rule.name}」的时限不允许延期")
    if already_extended + requested_amount > rule.max_extension:
        left = max(rule.max_extension - already_extended, 0)
        raise ExtensionRefused(
            f"「{rule.name}」最多可延期 {rule.max_extension}{unit}，已延期 {already_extended}{unit}，"
            f"本次申请 {requested_amount}{unit}，超出上限（还可延期 {left}{unit}）"
        )
    return _count(rule.unit, current_due, requested_amount, calendar, rule.roll_forward)


def _petition(
    key: str, name: str, amount: int, unit: Unit, basis: str, max_extension: int = 0
) -> DeadlineRule:
    return DeadlineRule(
        key=f"petition.{key}",
        name=name,
        amount=amount,
        unit=unit,
        legal_basis=f"《信访工作条例》（2022）{basis}",
        max_extension=max_extension,
    )


def _hotline(key: str, name: str, amount: int, basis: str, max_extension: int = 0) -> DeadlineRule:
    return DeadlineRule(
        key=f"hotline.{key}",
        name=name,
        amount=amount,
        unit="working_day",
        legal_basis=basis,
        max_extension=max_extension,
    )


_HOTLINE_SEED = "12345 热线种子时限（参照《北京市接诉即办工作条例》及各地 12345 热线条例，各地可调整）"
_HOTLINE_LOCAL = "12345 热线地方常用时限（种子值，各地可调整）"
_SHANDONG = "参照山东省 12345 热线规定（济南 2018、潍坊 2021 条例）"

SEED_RULES: tuple[DeadlineRule, ...] = (
    _petition("forward", "登记后转送、交办", 15, "calendar_day", "第二十二条"),
    _petition("notify", "书面告知信访人", 15, "calendar_day", "第二十三条第二款、第三款"),
    _petition("objection", "对转送、交办事项提出异议", 5, "working_day", "第二十三条第三款"),
    _petition("handle", "信访事项办结", 60, "calendar_day", "第三十二条、第三十四条（延期见第三十四条）", 30),
    _petition("review_request", "申请复查", 30, "calendar_day", "第三十五条"),
    _petition("review_decision", "复查意见", 30, "calendar_day", "第三十五条"),
    _petition("re_review_request", "申请复核", 30, "calendar_day", "第三十六条"),
    _petition("re_review_decision", "复核意见", 30, "calendar_day", "第三十六条"),
    _hotline("accept", "承办单位受理", 1, _HOTLINE_SEED),
    _hotline("consultation", "咨询类办结", 5, _HOTLINE_SEED, 10),
    _hotline("complaint", "投诉类办结", 15, _HOTLINE_SEED, 10),
    _hotline("report", "举报类办结", 30, _HOTLINE_SEED, 10),
    _hotline("help", "求助类办结", 5, _HOTLINE_LOCAL, 10),
    _hotline("suggestion", "建议类办结", 15, _HOTLINE_LOCAL, 10),
    _hotline("praise", "表扬/感谢类办结", 5, _HOTLINE_LOCAL, 10),
    _hotline("extension", "延期（单次最长）", 10, f"{_SHANDONG}：延期不超过 10 个工作日"),
    _hotline("return", "退单", 2, f"{_SHANDONG}：退单在 2 个工作日内提出"),
)


def seed_rule(key: str) -> DeadlineRule:
    """The seeded rule with ``key``; raises ``KeyError`` if there is none."""
    for rule in SEED_RULES:
        if rule.key == key:
            return rule
    raise KeyError(key)
