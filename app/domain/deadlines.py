"""Deadline rules (办理时限) and the period arithmetic of 民法典 arts. 201 and 203.

Exceptions (all ``ValueError``): ``DeadlineError`` ← ``InvalidDeadlineRule`` (a rule's data is
inconsistent), ``ExtensionRefused`` (an 延期 the rule does not allow). A date in an unconfirmed year
raises ``CalendarYearMissing`` from the calendar.

Period rules: the start day is not counted (unless the rule says so); a calendar-day period whose
last day is a rest day ends on the next working day; a 调休 Saturday that is a workday is a
working day, so a period ending on it does not roll. Working-day periods always end on a working day.

Hours: ``calendar_hour`` counts wall-clock hours from the start; ``working_hour`` counts only the office
hours (``OfficeHours``, e.g. 08:30–12:00 and 13:30–17:30) of working days, so a 2-hour item begun at
11:00 is due at 14:30 and one begun on Friday at 17:00 on Monday at 10:00. An hour period ends at its
exact moment; count_start_day and roll_forward apply to day periods only.

Counted from: a rule's period starts at the case's registration, its dispatch, the unit's 签收, or the
step's own start (``COUNTED_FROM``); the service layer finds that moment.

Times: ``due_at`` returns the end of the due day, 23:59:59 (for an hour unit, the exact moment). Naive
datetimes are Asia/Shanghai local time (the platform's convention); an aware ``start`` is converted to
UTC+8 first and the result is aware in UTC+8 (China has had no daylight saving since 1991, so a fixed offset is exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal, get_args

from app.domain.calendar import WorkCalendar

__all__ = [
    "CHINA_TIME",
    "COUNTED_FROM",
    "DEFAULT_OFFICE_HOURS",
    "END_OF_DAY",
    "SEED_RULES",
    "DeadlineError",
    "TimeLimit",
    "ExtensionRefused",
    "InvalidDeadlineRule",
    "OfficeHours",
    "PeriodUnit",
    "add_working_time",
    "due_at",
    "due_date",
    "end_of_day",
    "extend_by",
    "extended_due_date",
    "hour_warn_at",
    "seed_rule",
]

PeriodUnit = Literal["calendar_day", "working_day", "calendar_hour", "working_hour"]
UNIT_LABELS: dict[str, str] = {"calendar_day": "日", "working_day": "个工作日", "calendar_hour": "小时",
                               "working_hour": "个工作小时"}
HOUR_UNITS = frozenset({"calendar_hour", "working_hour"})
CountedFrom = Literal["registration", "dispatch", "sign_for", "step_start"]
COUNTED_FROM: dict[str, str] = {"registration": "登记", "dispatch": "派单", "sign_for": "签收",
                                "step_start": "本环节开始"}
OfficeHours = tuple[tuple[time, time], ...]
DEFAULT_OFFICE_HOURS: OfficeHours = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))
CHINA_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


class DeadlineError(ValueError):
    """Base of the deadline errors; the message is Chinese, for the user."""


class InvalidDeadlineRule(DeadlineError):
    """A deadline rule's data cannot be used (e.g. an unknown unit or a negative amount)."""


class ExtensionRefused(DeadlineError):
    """An extension the rule does not allow (too long, not positive, or none allowed)."""


@dataclass(frozen=True, kw_only=True)
class TimeLimit:
    """One row of the deadline rule table: how long a step may take, and on what legal basis."""

    key: str
    name: str
    amount: int
    unit: PeriodUnit
    legal_basis: str
    count_start_day: bool = False
    roll_forward: bool = True
    max_extension: int = 0
    counted_from: CountedFrom = "step_start"

    def __post_init__(self) -> None:
        if self.unit not in get_args(PeriodUnit):
            raise InvalidDeadlineRule(f"时限规则 {self.key} 的单位无效：{self.unit!r}")
        if self.counted_from not in COUNTED_FROM:
            raise InvalidDeadlineRule(f"时限规则 {self.key} 的起算点无效：{self.counted_from!r}")
        if self.amount < 1:
            raise InvalidDeadlineRule(f"时限规则 {self.key} 的时限必须至少为 1，当前为 {self.amount}")
        if self.max_extension < 0:
            raise InvalidDeadlineRule(f"时限规则 {self.key} 的最长延期不能为负数")

    @property
    def label(self) -> str:
        """The limit as users say it, e.g. '60日' or '5个工作日'."""
        return f"{self.amount}{UNIT_LABELS[self.unit]}"

    @property
    def in_hours(self) -> bool:
        return self.unit in HOUR_UNITS


def _count(unit: PeriodUnit, start: date, amount: int, calendar: WorkCalendar, roll_forward: bool) -> date:
    """The last day of a period of ``amount`` units counted from the day after ``start``."""
    if unit == "working_day":
        return calendar.add_working_days(start, amount)
    last = start + timedelta(days=amount)
    return calendar.working_day_on_or_after(last) if roll_forward else last


def due_date(rule: TimeLimit, start: date, calendar: WorkCalendar) -> date:
    """The last day of the period that begins on ``start`` (day 0); day units only."""
    if rule.in_hours:
        raise InvalidDeadlineRule(f"时限规则 {rule.key} 按小时计，应给出起算时刻")
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


def add_working_time(start: datetime, amount: timedelta, calendar: WorkCalendar,
                     office_hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> datetime:
    """The moment ``amount`` of office time on working days has passed since ``start`` (naive local);
    an amount that ends exactly at the close of a span ends there, not at the next opening."""
    if not office_hours or any(a >= b for a, b in office_hours):
        raise InvalidDeadlineRule("办公时间设置无效")
    left, cursor, day = amount, start, start.date()
    while True:
        if calendar.is_working_day(day):  # raises CalendarYearMissing past the confirmed years
            for opens, closes in office_hours:
                begin, end = max(datetime.combine(day, opens), cursor), datetime.combine(day, closes)
                if begin >= end:
                    continue
                if begin + left <= end:
                    return begin + left
                left -= end - begin
        day += timedelta(days=1)
        cursor = datetime.combine(day, time())


def _hours_due(rule: TimeLimit, start: datetime, calendar: WorkCalendar, office_hours: OfficeHours) -> datetime:
    if rule.unit == "calendar_hour":
        return start + timedelta(hours=rule.amount)
    return add_working_time(start, timedelta(hours=rule.amount), calendar, office_hours)


def due_at(rule: TimeLimit, start: datetime, calendar: WorkCalendar,
           office_hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> datetime:
    """When a period that begins at ``start`` (naive = Asia/Shanghai local time) ends: the end of its due
    day, or for an hour unit the exact moment."""
    local = start if start.tzinfo is None else start.astimezone(CHINA_TIME)
    if rule.in_hours:
        due = _hours_due(rule, local.replace(tzinfo=None), calendar, office_hours)
        return due if start.tzinfo is None else due.replace(tzinfo=CHINA_TIME)
    return end_of_day(due_date(rule, local.date(), calendar), tzinfo=None if start.tzinfo is None else CHINA_TIME)


def hour_warn_at(rule: TimeLimit, start: datetime, due: datetime, calendar: WorkCalendar, fraction: float,
                 office_hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> datetime:
    """Yellow for an hour period: when ``1 - fraction`` of it has passed, counted in the rule's own hours
    (office time for working hours), so a 2-hour item is not yellow from its first minute."""
    if rule.unit == "working_hour":
        return add_working_time(start, timedelta(hours=rule.amount) * (1 - fraction), calendar, office_hours)
    return start + (due - start) * (1 - fraction)


def extended_due_date(
    rule: TimeLimit,
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
    if rule.in_hours:
        raise ExtensionRefused(f"「{rule.name}」按小时计，不能延期")
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
    return extend_by(rule, current_due, requested_amount, calendar)


def extend_by(rule: TimeLimit, current_due: date, amount: int, calendar: WorkCalendar) -> date:
    """``current_due`` moved by ``amount`` of the rule's (day) unit, with no check of the rule's maximum:
    for recomputing an extension already granted."""
    return _count(rule.unit, current_due, amount, calendar, rule.roll_forward)


def _petition(
    key: str, name: str, amount: int, unit: PeriodUnit, basis: str, max_extension: int = 0,
    counted_from: CountedFrom = "step_start",
) -> TimeLimit:
    return TimeLimit(
        key=f"petition.{key}",
        name=name,
        amount=amount,
        unit=unit,
        legal_basis=f"《信访工作条例》（2022）{basis}",
        max_extension=max_extension,
        counted_from=counted_from,
    )


def _hotline(key: str, name: str, amount: int, basis: str, max_extension: int = 0,
             counted_from: CountedFrom = "step_start") -> TimeLimit:
    return TimeLimit(
        key=f"hotline.{key}",
        name=name,
        amount=amount,
        unit="working_day",
        legal_basis=basis,
        max_extension=max_extension,
        counted_from=counted_from,
    )


def _centre(key: str, name: str, amount: int, basis: str, counted_from: CountedFrom = "step_start") -> TimeLimit:
    """A step of the centre's own (受理、派单、回访、审批): seed values with no statute behind the number."""
    return TimeLimit(key=key, name=name, amount=amount, unit="working_day", legal_basis=basis,
                        counted_from=counted_from)


_HOTLINE_SEED = "12345 热线种子时限（参照《北京市接诉即办工作条例》及各地 12345 热线条例，各地可调整）"
_HOTLINE_LOCAL = "12345 热线地方常用时限（种子值，各地可调整）"
_SHANDONG = "参照山东省 12345 热线规定（济南 2018、潍坊 2021 条例）"
_CENTRE = "热线中心内部时限（种子值，未见法定时限，各地按本地规定调整）"
_OVERALL = "；本时限为诉求件的总时限，自承办单位签收起算（可改为自登记起算）"

SEED_RULES: tuple[TimeLimit, ...] = (
    _petition("forward", "登记后转送、交办", 15, "calendar_day", "第二十二条"),
    _petition("notify", "书面告知信访人", 15, "calendar_day", "第二十三条第二款、第三款", counted_from="registration"),
    _petition("objection", "对转送、交办事项提出异议", 5, "working_day", "第二十三条第三款"),
    _petition("handle", "信访事项办结", 60, "calendar_day", "第三十二条、第三十四条（延期见第三十四条）", 30),
    _petition("review_request", "申请复查", 30, "calendar_day", "第三十五条"),
    _petition("review_decision", "复查意见", 30, "calendar_day", "第三十五条"),
    _petition("re_review_request", "申请复核", 30, "calendar_day", "第三十六条"),
    _petition("re_review_decision", "复核意见", 30, "calendar_day", "第三十六条"),
    _hotline("accept", "承办单位受理", 1, _HOTLINE_SEED),
    _hotline("consultation", "咨询类办结", 5, _HOTLINE_SEED + _OVERALL, 10, "sign_for"),
    _hotline("complaint", "投诉类办结", 15, _HOTLINE_SEED + _OVERALL, 10, "sign_for"),
    _hotline("report", "举报类办结", 30, _HOTLINE_SEED + _OVERALL, 10, "sign_for"),
    _hotline("help", "求助类办结", 5, _HOTLINE_LOCAL + _OVERALL, 10, "sign_for"),
    _hotline("suggestion", "建议类办结", 15, _HOTLINE_LOCAL + _OVERALL, 10, "sign_for"),
    _hotline("praise", "表扬/感谢类办结", 5, _HOTLINE_LOCAL + _OVERALL, 10, "sign_for"),
    _hotline("extension", "延期（单次最长）", 10, f"{_SHANDONG}：延期不超过 10 个工作日"),
    _hotline("return", "退单", 2, f"{_SHANDONG}：退单在 2 个工作日内提出"),
    _hotline("centre_intake", "中心受理、派单", 1,
             f"{_CENTRE}：登记后 1 个工作日内完成受理和派单（两个环节共用一个期限）", counted_from="registration"),
    _centre("centre.follow_up", "回访", 2,
            f"{_CENTRE}：答复后 2 个工作日内回访（回访要求见《北京市接诉即办工作条例》，时限为种子值）"),
    _centre("approval.rejection", "不予受理审批", 2, f"{_CENTRE}：不予受理须经审批，2 个工作日内审批"),
    _centre("approval.return", "退回审核", 2, f"{_CENTRE}：{_SHANDONG}，退单由中心审核，2 个工作日内审核"),
    _centre("approval.extension", "延期审批", 2,
            f"{_CENTRE}：延期须经批准（《信访工作条例》第三十四条；山东省 12345 规定延期不超过 10 个工作日），"
            "2 个工作日内审批"),
)


def seed_rule(key: str) -> TimeLimit:
    """The seeded rule with ``key``; raises ``KeyError`` if there is none."""
    for rule in SEED_RULES:
        if rule.key == key:
            return rule
    raise KeyError(key)
