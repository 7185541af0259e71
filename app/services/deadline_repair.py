"""Repairing due dates after a rule or the calendar changed: a preview first (how many open tasks, old →
new due date, which would turn red), then applying it, each change audited with its cause.

An edit to a rule or a calendar year never moves running periods by itself: the administrator sees what
would change and decides. Each open task's period is recomputed from where it started (the anchor of its
rule and unit, `CaseDeadline`) with the rule, the calendar and the office hours as they are now, keeping
the extension already granted and the working days pauses credited (a task paused now is left to its
resume); a task that waited for an unconfirmed year gets its first due date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.domain.calendar import CalendarYearMissing, WorkCalendar
from app.domain.deadlines import TimeLimit
from app.domain.lights import light
from app.errors import Invalid, NotFound, NotPermitted
from app.models import Case, CaseDeadline, DeadlineRule, HumanTask, TaskPause, Unit
from app.services import audit
from app.services.actors import Actor
from app.services.calendar import load_calendar, load_rule, unit_calendar, unit_regions
from app.services.deadlines import period_start, period_times
from app.services.platform import Platform
from app.services.process import lock_case

CAUSES = {"calendar_year": "确认年度工作日历", "calendar_day": "修改工作日历中的一天", "rule": "修改时限规则",
          "local_holiday": "修改地方节假日"}


@dataclass(frozen=True)
class Cause:
    """What changed: a confirmed calendar year, one calendar day, one rule, or a region's local holidays
    from `day` to `until` (`region` the unit that set them; only its subtree's tasks can move)."""

    kind: str
    year: int | None = None
    day: date | None = None
    rule: str | None = None
    until: date | None = None
    region: int | None = None

    def as_dict(self) -> dict[str, Any]:
        shown = {"year": self.year, "day": self.day.isoformat() if self.day else None, "rule": self.rule,
                 "until": self.until.isoformat() if self.until else None, "region": self.region}
        return {"kind": self.kind, "label": CAUSES[self.kind], **{k: v for k, v in shown.items() if v is not None}}

    def touches(self, started: datetime, old: datetime | None, new: datetime) -> bool:
        """Whether the period lies where the change is (a rule's tasks are all its own)."""
        if self.kind == "rule" or old is None:
            return True
        low, high = started.date(), max(old, new).date()
        if self.kind == "calendar_year":
            assert self.year is not None
            return low.year <= self.year <= high.year
        assert self.day is not None
        return self.day <= high and low <= (self.until or self.day)


def _read_day(raw: Any, field: str) -> date:
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError) as e:
        raise Invalid("日期应为 YYYY-MM-DD", {field: "日期应为 YYYY-MM-DD"}) from e


def read_cause(session: Session, raw: Any) -> Cause:
    """The cause as the API sends it: {"kind": "calendar_year", "year": 2027} | {"kind": "calendar_day",
    "day": "2027-01-02"} | {"kind": "rule", "rule": "hotline.complaint"} | {"kind": "local_holiday",
    "region": 7, "day": "2027-03-10", "until": "2027-03-12"}; 422 naming the field."""
    if not isinstance(raw, dict) or raw.get("kind") not in CAUSES:
        message = ("原因应为 calendar_year(年度日历)、calendar_day(某一天)、rule(时限规则)或 local_holiday"
                   "(地方节假日)之一")
        raise Invalid(message, {"cause.kind": message})
    kind = raw["kind"]
    if kind == "calendar_year":
        year = raw.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise Invalid("年份应为 2000 到 2100 之间的整数", {"cause.year": "年份应为 2000 到 2100 之间的整数"})
        return Cause(kind, year=year)
    if kind == "calendar_day":
        return Cause(kind, day=_read_day(raw.get("day"), "cause.day"))
    if kind == "local_holiday":
        region = raw.get("region")
        if isinstance(region, bool) or not isinstance(region, int) or not 0 < region < 2**31 \
                or session.get(Unit, region) is None:
            raise Invalid("地区(单位)不存在", {"cause.region": "地区(单位)不存在"})
        day = _read_day(raw.get("day"), "cause.day")
        until = _read_day(raw.get("until") or raw.get("day"), "cause.until")
        if until < day:
            raise Invalid("结束日期不能早于开始日期", {"cause.until": "结束日期不能早于开始日期"})
        return Cause(kind, day=day, until=until, region=region)
    key = raw.get("rule")
    if not isinstance(key, str) or session.get(DeadlineRule, key) is None:
        message = f"时限规则不存在:{str(key)[:60]}"
        raise Invalid(message, {"cause.rule": message})
    return Cause(kind, rule=key)


@dataclass(frozen=True)
class Change:
    task: HumanTask
    rule: TimeLimit
    started: datetime
    extended_by: int
    new_due: datetime
    new_warn: datetime
    turns_red: bool

    def as_dict(self, number: str) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None
        return {"task_id": self.task.id, "case_id": self.task.case_id, "case_number": number,
                "title": self.task.title, "task": self.task.spec_name, "rule": self.rule.key,
                "rule_name": self.rule.name, "unit_id": self.task.unit_id,
                "old_due_at": iso(self.task.due_at), "new_due_at": iso(self.new_due),
                "old_warn_at": iso(self.task.warn_at), "new_warn_at": iso(self.new_warn),
                "turns_red": self.turns_red}


def _changes(session: Session, calendar: WorkCalendar, cause: Cause, now: datetime) -> list[Change]:
    query = select(HumanTask).where(HumanTask.state == "ready", HumanTask.deadline_rule.is_not(None),
                                    HumanTask.paused_at.is_(None))  # a paused clock moves when it resumes
    if cause.rule:
        query = query.where(HumanTask.deadline_rule == cause.rule)
    rules: dict[str, TimeLimit | None] = {}
    found = []
    for task in session.scalars(query.order_by(HumanTask.case_id, HumanTask.created_at, HumanTask.id)):
        assert task.deadline_rule
        if cause.region is not None and cause.region not in unit_regions(session, task.unit_id):
            continue  # local holidays move the deadlines of their region's units only
        if task.deadline_rule not in rules:
            try:
                rules[task.deadline_rule] = load_rule(session, task.deadline_rule)
            except NotFound:
                rules[task.deadline_rule] = None
        rule = rules[task.deadline_rule]
        if rule is None:
            continue
        anchor = session.get(CaseDeadline, (task.case_id, rule.key, task.unit_id or 0))
        started = anchor.started_at if anchor else period_start(session, task.case_id, rule, task.created_at)
        extended = anchor.extended_by if anchor else 0
        try:
            due, warn = period_times(session, unit_calendar(session, calendar, task.unit_id), rule, started, extended,
                                     _paused_days(session, task))
        except CalendarYearMissing:
            continue  # still waiting for its year
        if (due, warn) == (task.due_at, task.warn_at) or not cause.touches(started, task.due_at, due):
            continue
        was_red = light(now, task.warn_at, task.due_at) == "red"
        found.append(Change(task, rule, started, extended, due, warn, not was_red and now > due))
    return found


def _paused_days(session: Session, task: HumanTask) -> int:
    """Working days that ended pauses credited to the period of this task's rule and unit."""
    paused = aliased(HumanTask)
    unit = paused.unit_id == task.unit_id if task.unit_id else paused.unit_id.is_(None)
    return int(session.scalar(select(func.coalesce(func.sum(TaskPause.credited_days), 0))
                              .join(paused, paused.id == TaskPause.task_id)
                              .where(TaskPause.case_id == task.case_id, TaskPause.state == "ended",
                                     paused.deadline_rule == task.deadline_rule, unit)) or 0)


def _require(actor: Actor, cause: Cause) -> None:
    if not actor.can("settings.edit" if cause.kind == "rule" else "calendar.edit"):
        raise NotPermitted("没有权限执行此操作")


def _answer(session: Session, cause: Cause, changes: list[Change]) -> dict[str, Any]:
    numbers: dict[int, str] = {i: n for i, n in session.execute(select(Case.id, Case.number).where(
        Case.id.in_({c.task.case_id for c in changes})))} if changes else {}
    return {"cause": cause.as_dict(), "count": len(changes), "turning_red": sum(c.turns_red for c in changes),
            "tasks": [c.as_dict(numbers[c.task.case_id]) for c in changes]}


def preview(platform: Platform, actor: Actor, raw_cause: Any) -> dict[str, Any]:
    """The open tasks whose due or warning time the change moves, old → new; nothing is written."""
    with platform.db.reading() as session:
        cause = read_cause(session, raw_cause)
        _require(actor, cause)
        return _answer(session, cause, _changes(session, load_calendar(session), cause, platform.clock.now()))


def preview_change(platform: Platform, actor: Actor, cause: Cause,
                   change: Callable[[WorkCalendar], WorkCalendar]) -> dict[str, Any]:
    """The preview of a calendar change not stored yet: the tasks that would move were `change` applied to
    the calendar as it stands (a year about to be confirmed, local holidays about to be set)."""
    _require(actor, cause)
    with platform.db.reading() as session:
        return _answer(session, cause, _changes(session, change(load_calendar(session)), cause,
                                                platform.clock.now()))


def apply(platform: Platform, actor: Actor, raw_cause: Any) -> dict[str, Any]:
    """Give the tasks of the preview their new times (their periods and cases too), each audited."""
    with platform.db.unit_of_work() as session:
        cause = read_cause(session, raw_cause)
        _require(actor, cause)
        answer = repair(session, platform, actor, cause)
        session.commit()
        return answer


def repair(session: Session, platform: Platform, actor: Actor, cause: Cause) -> dict[str, Any]:
    """`apply` in the caller's transaction, after its calendar change is flushed: the change and the moved
    due dates commit together (a confirmed year never stands without its repair)."""
    _require(actor, cause)
    calendar, now = load_calendar(session), platform.clock.now()
    for case_id in sorted({c.task.case_id for c in _changes(session, calendar, cause, now)}):
        lock_case(session, case_id)  # one writer per case, as every run of its process
    changes = _changes(session, calendar, cause, now)
    answer = _answer(session, cause, changes)
    for change, shown in zip(changes, answer["tasks"], strict=True):
        task = change.task
        key = (task.case_id, change.rule.key, task.unit_id or 0)
        anchor = session.get(CaseDeadline, key)
        if anchor is None:
            session.add(CaseDeadline(case_id=key[0], rule_key=key[1], unit_id=key[2], started_at=change.started,
                                     due_at=change.new_due, warn_at=change.new_warn, extended_by=0))
        else:
            anchor.due_at, anchor.warn_at = change.new_due, change.new_warn
        task.due_at, task.warn_at = change.new_due, change.new_warn
        audit.record(session, platform, actor, "deadline.repaired", case_id=task.case_id,
                     detail={"cause": answer["cause"], **{k: shown[k] for k in (
                         "task_id", "task", "rule", "old_due_at", "new_due_at", "old_warn_at", "new_warn_at")}})
    session.flush()
    for case_id in {c.task.case_id for c in changes}:
        case = session.get_one(Case, case_id)
        case.due_at = min((d for d in session.scalars(select(HumanTask.due_at).where(
            HumanTask.case_id == case_id, HumanTask.state == "ready")) if d is not None), default=None)
    audit.record(session, platform, actor, "deadline.repair_applied",
                 detail={"cause": answer["cause"], "tasks": len(changes), "turning_red": answer["turning_red"]})
    return answer
