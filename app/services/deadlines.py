"""Deadline policy: when a task falls due and turns yellow, from its rule, the case's running period for
that rule and unit (its anchor, `case_deadline`) and the working calendar; approved extensions move the
period. The process service calls it after each run; it never runs the engine.

A period whose end falls in a year nobody has confirmed is never guessed: the task waits without a due
date (audited, so administrators see it) until the repair (app/services/deadline_repair.py) gives it one
once the year is confirmed.
An extension into such a year is refused with `CalendarNotConfirmed` (409, the calendar's Chinese words).

Counted from: a new period starts at the moment its rule names — the case's registration, its latest
派单 or 签收 (the completed `dispatch` / `sign_for` step; the step's own start when the path had none, as a
self-handled case has no 签收), or the step's own start. A step that comes round again for the same unit
keeps the period already running. When a rule or the calendar changes, app/services/deadline_repair.py
recomputes the periods with `period_times`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.calendar import CalendarYearMissing, WorkCalendar
from app.domain.deadlines import ExtensionRefused, TimeLimit, extend_by, extended_due_date, hour_warn_at
from app.domain.deadlines import due_at as rule_due_at
from app.domain.lights import warn_at as rule_warn_at
from app.errors import Conflict, Invalid
from app.models import Case, CaseDeadline, HumanTask
from app.services import audit
from app.services.actors import SYSTEM
from app.services.calendar import load_calendar, load_rule, office_hours, unit_calendar
from app.services.platform import Platform
from app.services.settings import get_setting


class CalendarNotConfirmed(Conflict):
    """A date the step needs falls in a year whose working calendar is not confirmed yet."""

    code = "calendar_not_confirmed"


def not_confirmed(error: CalendarYearMissing) -> CalendarNotConfirmed:
    """The user-facing error for a missing calendar year: the calendar's own Chinese message."""
    return CalendarNotConfirmed(error.message, {"calendar": error.message, "year": error.year})


def _warn_at(session: Session, calendar: WorkCalendar, started: datetime, due: datetime,
             rule: TimeLimit | None = None) -> datetime:
    fraction = float(get_setting(session, "lights.yellow_fraction"))
    if rule is not None and rule.in_hours:
        return hour_warn_at(rule, started, due, calendar, fraction, office_hours(session))
    return rule_warn_at(started, due, calendar, fraction)


def period_start(session: Session, case_id: int, rule: TimeLimit, step_start: datetime) -> datetime:
    """The moment the rule's period is counted from, for a step that starts at `step_start`."""
    if rule.counted_from == "registration":
        return session.get_one(Case, case_id).created_at
    if rule.counted_from in ("dispatch", "sign_for"):
        done = session.scalar(select(func.max(HumanTask.completed_at)).where(
            HumanTask.case_id == case_id, HumanTask.spec_name == rule.counted_from, HumanTask.state == "done"))
        return done or step_start
    return step_start


def period_times(session: Session, calendar: WorkCalendar, rule: TimeLimit, started: datetime,
                 extended_by: int = 0, paused_days: int = 0) -> tuple[datetime, datetime]:
    """Due and warning times of a period of `rule` begun at `started`, with `extended_by` units of approved
    extension and `paused_days` working days credited by pauses (as `postpone` moves them); raises
    `CalendarYearMissing` when its end lies in an unconfirmed year."""
    due = rule_due_at(rule, started, calendar, office_hours(session))
    if extended_by > 0 and not rule.in_hours:
        due = datetime.combine(extend_by(rule, due.date(), extended_by, calendar), due.time())
    if paused_days > 0:
        due = datetime.combine(calendar.add_working_days(due.date(), paused_days), due.time())
    return due, _warn_at(session, calendar, started, due, rule)


def task_deadline(session: Session, platform: Platform, calendar: WorkCalendar, case_id: int, rule_key: str,
                  unit_id: int | None, started: datetime, *,
                  report_missing: bool = True, new_case: bool = False) -> tuple[datetime | None, datetime | None]:
    """Due and warning times of a task under `rule_key` at `unit_id`: the period already running for this
    rule and unit on the case, or a new one starting at `started`. (None, None) while the period's end lies
    in an unconfirmed year (audited when `report_missing`). `new_case`: the case's first run, so only the
    periods this transaction added can exist (no statement to look for stored ones)."""
    key = (case_id, rule_key, unit_id or 0)
    anchor = (next((o for o in session.new if isinstance(o, CaseDeadline)
                    and (o.case_id, o.rule_key, o.unit_id) == key), None)
              if new_case else session.get(CaseDeadline, key))
    if anchor is None:
        rule = load_rule(session, rule_key)
        started = period_start(session, case_id, rule, started)
        try:
            due, warn = period_times(session, unit_calendar(session, calendar, unit_id), rule, started)
        except CalendarYearMissing as e:
            if report_missing:
                audit.record(session, platform, SYSTEM, "deadline.calendar_missing", case_id=case_id,
                             detail={"rule": rule_key, "year": e.year, "message": e.message})
            return None, None
        anchor = CaseDeadline(case_id=case_id, rule_key=rule_key, unit_id=unit_id or 0, started_at=started,
                              due_at=due, warn_at=warn, extended_by=0)
        session.add(anchor)
    return anchor.due_at, anchor.warn_at


def extend(session: Session, platform: Platform, case: Case, rule_key: str, total_days: int) -> None:
    """Move the lead unit's period under `rule_key` so that `total_days` of extension are granted in all
    (never past the rule's maximum), and give its waiting tasks the new times (the caller's task rewrite
    then sets the case's due time)."""
    anchor = session.get(CaseDeadline, (case.id, rule_key, case.lead_unit_id or 0))
    if anchor is None or total_days <= 0 or anchor.extended_by >= total_days:
        return
    rule, calendar = load_rule(session, rule_key), unit_calendar(session, load_calendar(session), case.lead_unit_id)
    try:
        due = extended_due_date(rule, anchor.due_at.date(), total_days - anchor.extended_by, calendar,
                                already_extended=anchor.extended_by)
        anchor.due_at = datetime.combine(due, anchor.due_at.time())
        anchor.warn_at = _warn_at(session, calendar, anchor.started_at, anchor.due_at, rule)
    except ExtensionRefused as e:
        raise Invalid(str(e), {"approved_extension_days": str(e)}) from e
    except CalendarYearMissing as e:
        raise not_confirmed(e) from e
    anchor.extended_by = total_days
    for task in session.scalars(select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "ready",
                                                        HumanTask.deadline_rule == rule_key)):
        task.due_at, task.warn_at = anchor.due_at, anchor.warn_at


def postpone(session: Session, case: Case, rule_key: str, unit_id: int | None, working_days: int) -> datetime | None:
    """Move a running period's due date later by `working_days` (time a pause did not count), with its
    warning time and its waiting tasks; answers the new due date (None: no period runs for it). A due date
    pushed into an unconfirmed year is refused with `CalendarNotConfirmed`."""
    anchor = session.get(CaseDeadline, (case.id, rule_key, unit_id or 0))
    if anchor is None:
        return None
    if working_days > 0:
        calendar = unit_calendar(session, load_calendar(session), unit_id)
        try:
            due = datetime.combine(calendar.add_working_days(anchor.due_at.date(), working_days), anchor.due_at.time())
            warn = _warn_at(session, calendar, anchor.started_at, due)
        except CalendarYearMissing as e:
            raise not_confirmed(e) from e
        anchor.due_at, anchor.warn_at = due, warn
        for task in session.scalars(select(HumanTask).where(
                HumanTask.case_id == case.id, HumanTask.state == "ready", HumanTask.deadline_rule == rule_key,
                HumanTask.unit_id == unit_id if unit_id else HumanTask.unit_id.is_(None))):
            task.due_at, task.warn_at = due, warn
        session.flush()
        case.due_at = min((d for d in session.scalars(select(HumanTask.due_at).where(
            HumanTask.case_id == case.id, HumanTask.state == "ready")) if d is not None), default=None)
    return anchor.due_at
