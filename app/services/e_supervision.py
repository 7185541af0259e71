"""电子监察: the flags of a case and their counts per unit and month, derived from the task projection,
the case's running periods (`case_deadline`) and the audit trail — never typed in, so they cannot be
forgotten or edited away. Codes and the rule of lateness are app/domain/e_supervision.py.

Reads take the caller's session; the per-unit report for people is scoped like every case read
(`visible_cases`), the CLI's covers every unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, and_, cast, exists, func, or_, select, true
from sqlalchemy.orm import Session

from app.domain import e_supervision as es
from app.domain.calendar import CalendarYearMissing
from app.domain.deadlines import due_at as rule_due_at
from app.domain.e_supervision import Flag
from app.errors import Invalid, NotFound, NotPermitted
from app.models import AuditEvent, Case, CaseDeadline, DeadlineRule, HumanTask, Unit
from app.services.actors import Actor
from app.services.calendar import load_calendar, load_rule, unit_calendar
from app.services.dictionary import labels
from app.services.platform import Platform
from app.services.scope import in_scope, visible_cases

NOTICE_KINDS = ("acceptance_notice", "rejection_notice")  # the written notice of 条例 art. 23


def case_flags(session: Session, case: Case, now: datetime, events: Sequence[AuditEvent] | None = None,
               tasks: Sequence[HumanTask] | None = None) -> list[Flag]:
    """Every flag of the case, once per code and unit, oldest first (`events`, `tasks`: its audit rows and
    every task of it, if the caller has read them)."""
    if tasks is None:
        tasks = session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
    if events is None:
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                 .order_by(AuditEvent.id)).all()
    periods = session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id)).all()
    found = [*_step_flags(case, tasks, now), *_return_flags(session, case, tasks, events),
             *_notice_flags(case, periods, events, now), *_extension_flags(session, case, periods, events)]
    first: dict[tuple[str, int | None], Flag] = {}
    for flag in sorted(found, key=lambda f: f.at):
        first.setdefault((flag.code, flag.unit_id), flag)
    return list(first.values())


def flag_codes(session: Session, case: Case, now: datetime, events: Sequence[AuditEvent] | None = None,
               tasks: Sequence[HumanTask] | None = None) -> list[str]:
    """The case's flags as codes, in the dictionary's order (what `GET /api/v1/cases/{id}` answers)."""
    have = {f.code for f in case_flags(session, case, now, events, tasks)}
    return [code for code in es.CODES if code in have]


def _step_flags(case: Case, tasks: Iterable[HumanTask], now: datetime) -> Iterable[Flag]:
    """A step done after its due time or still waiting past it; a 督办 feedback the process cancelled unanswered."""
    for task in tasks:
        code = es.STEP_FLAGS.get(task.spec_name)
        if code is None:
            continue
        if task.spec_name == es.FEEDBACK_STEP and task.state == "cancelled":
            yield Flag(code, case.id, task.unit_id, task.completed_at or now)
        elif es.late(task.due_at, task.completed_at, now):
            assert task.due_at is not None
            yield Flag(code, case.id, task.unit_id, task.due_at)


def _return_flags(session: Session, case: Case, tasks: Iterable[HumanTask],
                  events: Iterable[AuditEvent]) -> Iterable[Flag]:
    """A return asked after the window the return rule allows from the unit's sign-for."""
    returns = [e for e in events if e.action == "task.completed" and e.detail.get("task") == "handle"
               and (e.detail.get("data") or {}).get("handle_action") == "return"]
    signed = sorted((t for t in tasks if t.spec_name == "sign_for" and t.state == "done" and t.completed_at),
                    key=lambda t: t.completed_at or datetime.min)
    if not returns or not signed:
        return
    try:
        rule = load_rule(session, es.RETURN_RULE)
    except NotFound:
        return
    calendar = load_calendar(session)
    for event in returns:
        sign = next((t for t in reversed(signed) if t.completed_at and t.completed_at <= event.at), None)
        if sign is None or sign.completed_at is None:
            continue
        try:
            window = rule_due_at(rule, sign.completed_at, unit_calendar(session, calendar, sign.unit_id))
        except CalendarYearMissing:
            continue
        if event.at > window:
            yield Flag(es.LATE_RETURN, case.id, sign.unit_id, window)


def _notice_flags(case: Case, periods: Iterable[CaseDeadline], events: Iterable[AuditEvent],
                  now: datetime) -> Iterable[Flag]:
    """The written acceptance or rejection notice not served by the end of its period (条例 art. 23)."""
    period = next((p for p in periods if p.rule_key == es.NOTICE_RULE), None)
    if period is None:
        return
    served = [e.at if not e.detail.get("served_at") else datetime.fromisoformat(e.detail["served_at"])
              for e in events if e.action == "document.served" and e.detail.get("kind") in NOTICE_KINDS]
    told = min(served, default=None)
    if es.late(period.due_at, told, now):
        yield Flag(es.LATE_NOTICE, case.id, period.unit_id or case.registering_unit_id, period.due_at)


def _extension_flags(session: Session, case: Case, periods: Iterable[CaseDeadline],
                     events: Iterable[AuditEvent]) -> Iterable[Flag]:
    """More extension granted on a period than its rule allows (the rule as it stands now)."""
    approvals = [e.at for e in events if e.action == "task.completed" and e.detail.get("task") == "approve_extension"
                 and (e.detail.get("data") or {}).get("extension_decision") == "approve"]
    for period in periods:
        if period.extended_by <= 0:
            continue
        try:
            rule = load_rule(session, period.rule_key)
        except NotFound:
            continue
        if period.extended_by > rule.max_extension:
            at = approvals[-1] if approvals else period.due_at
            yield Flag(es.EXTENSION_OVER_LIMIT, case.id, period.unit_id or case.lead_unit_id, at)


def flag_clause(session: Session, code: str, now: datetime) -> ColumnElement[bool]:
    """A queryable flag (es.QUERYABLE) as a WHERE clause on Case: the same rules as `case_flags`, in SQL."""
    if code == es.LATE_NOTICE:
        return _late_notice_clause(session, now)
    if code == es.EXTENSION_OVER_LIMIT:
        return exists().where(CaseDeadline.case_id == Case.id, CaseDeadline.extended_by > 0,
                              DeadlineRule.key == CaseDeadline.rule_key,
                              CaseDeadline.extended_by > DeadlineRule.max_extension)
    steps = [step for step, flag in es.STEP_FLAGS.items() if flag == code]
    if not steps or code not in es.QUERYABLE:
        raise ValueError(code)
    late = and_(HumanTask.due_at.is_not(None), func.coalesce(HumanTask.completed_at, now) > HumanTask.due_at)
    if es.FEEDBACK_STEP in steps:
        late = or_(late, and_(HumanTask.spec_name == es.FEEDBACK_STEP, HumanTask.state == "cancelled"))
    return exists().where(HumanTask.case_id == Case.id, HumanTask.spec_name.in_(steps), late)


def _late_notice_clause(session: Session, now: datetime) -> ColumnElement[bool]:
    """The notice period's end passed with no notice served by then (`_notice_flags`: late(due, first served,
    now) — no serving at or before the end, and either one after it or the end already past)."""
    served_text = AuditEvent.detail["served_at"].as_string()
    served_at = (cast(served_text, DateTime) if session.get_bind().dialect.name == "postgresql"
                 else func.datetime(served_text))  # ISO text: SQLite compares it as text with its datetimes
    served = and_(AuditEvent.case_id == Case.id, AuditEvent.action == "document.served",
                  AuditEvent.detail["kind"].as_string().in_(NOTICE_KINDS))
    in_time = exists().where(served, func.coalesce(served_at, AuditEvent.at) <= CaseDeadline.due_at)
    return exists().where(CaseDeadline.case_id == Case.id, CaseDeadline.rule_key == es.NOTICE_RULE, ~in_time,
                          or_(CaseDeadline.due_at < now, exists().where(served)))


def month_range(month: str) -> tuple[datetime, datetime]:
    """'2026-11' → [2026-11-01 00:00, 2026-12-01 00:00); a malformed month is the user's error."""
    try:
        start = datetime.strptime(month, "%Y-%m")
    except ValueError as e:
        raise Invalid("月份格式应为 YYYY-MM", {"month": "月份格式应为 YYYY-MM"}) from e
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, datetime.combine(end, datetime.min.time())


def unit_report(session: Session, start: datetime, end: datetime, now: datetime,
                cases: ColumnElement[bool] | None = None, units: Iterable[Unit] | None = None
                ) -> list[dict[str, Any]]:
    """Flags that tripped in [start, end), counted per unit and code; one row per unit, zeros included."""
    where = cases if cases is not None else true()
    counts: dict[int | None, dict[str, int]] = {}
    for case in session.scalars(select(Case).where(where, Case.created_at < end).order_by(Case.id)):
        for flag in case_flags(session, case, now):
            if start <= flag.at < end:
                row = counts.setdefault(flag.unit_id, dict.fromkeys(es.CODES, 0))
                row[flag.code] += 1
    shown = list(units) if units is not None else list(session.scalars(
        select(Unit).where(Unit.active).order_by(Unit.path)))
    return [{"unit_id": u.id, "unit": u.name, "counts": counts.get(u.id, dict.fromkeys(es.CODES, 0)),
             "total": sum(counts.get(u.id, {}).values())} for u in shown]


def supervision_report(platform: Platform, actor: Actor, month: str | None = None) -> dict[str, Any]:
    """The centre leaders' table: per unit in the reader's subtree, each flag's count for the month
    (this month when none is given)."""
    if not actor.can("case.supervise"):
        raise NotPermitted("没有查看电子监察的权限")
    month = month or f"{platform.clock.now():%Y-%m}"
    start, end = month_range(month)
    with platform.db.reading() as session:
        units = session.scalars(select(Unit).where(Unit.active, in_scope(actor, Unit.id))
                                .order_by(Unit.path)).all()
        rows = unit_report(session, start, end, platform.clock.now(), visible_cases(actor), units)
        return {"month": month, "flags": flag_labels(session), "units": rows}


def report_all(platform: Platform, month: str) -> dict[str, Any]:
    """The same table over every unit, for `flask supervision report` (run by the operator on the server)."""
    start, end = month_range(month)
    with platform.db.reading() as session:
        return {"month": month, "flags": flag_labels(session),
                "units": unit_report(session, start, end, platform.clock.now())}


def flag_labels(session: Session) -> dict[str, str]:
    """Code → the dictionary's words, in the report's order (a code the dictionary lacks shows as itself)."""
    words = labels(session, es.DICTIONARY_KIND, active_only=False)
    return {code: words.get(code, code) for code in es.CODES}
