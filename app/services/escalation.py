"""The escalation ladder: 催办 before the due date, a 催办通知书 the day after it, an automatic 督办 with a 通报
N working days overdue — rungs as data (setting `escalation.ladder`), each once per task.

Safe with several scheduler processes: each (task, rung) is claimed in its own transaction by inserting its
`task_escalation` row (the primary key; a concurrent claim of the same key waits and then does nothing), after
locking the case — the same order as a task completion and a document download, so none waits on another
in the opposite order. Only a handler's waiting task with a due date and a running clock climbs: a paused task
(app.services.pauses) fires nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import conflict_insert
from app.domain.calendar import CalendarYearMissing, WorkCalendar
from app.errors import Conflict
from app.models import Case, HumanTask, TaskEscalation, Unit
from app.services import audit, documents, outbox, process, tasks
from app.services.actors import Actor
from app.services.calendar import load_calendar, unit_calendar
from app.services.platform import Platform
from app.services.settings import get_setting
from app.services.sweeps import PASS_BUDGET

log = logging.getLogger("huiyin.escalation")
HORIZON = timedelta(days=40)  # the earliest rung (at most 20 working days before the due date) lies within


@dataclass
class LadderResult:
    fired: dict[str, int]
    skipped: int = 0
    deferred: int = 0


def rung_time(due_at: datetime, offset: int, calendar: WorkCalendar) -> datetime:
    """When a rung `offset` working days from the due date is reached: the start of that working day (before
    the due date: the |offset|-th working day before it; after: the offset-th after it); 0 is the due time."""
    if offset == 0:
        return due_at
    day = due_at.date()
    if offset < 0:
        for _ in range(-offset):
            day = calendar.previous_working_day(day)
    else:
        day = calendar.add_working_days(day, offset)
    return datetime.combine(day, time())


def _latest_due_reached(offset: int, calendars: list[WorkCalendar], now: datetime) -> datetime | None:
    """The latest due time whose rung at `offset` is reached by `now` under any of the calendars (a rung's time
    never moves back as the due date moves on), so SQL selects by index only the tasks that may have reached
    it; the exact check per task follows. A due date whose rung lies in an unconfirmed year ends the walk
    there (that task is then deferred by the check). None: no due date reaches it yet."""
    if offset == 0:
        return now
    latest: date | None = None
    for calendar in calendars:
        day = now.date() - timedelta(days=3 * abs(offset) + 40)  # before any due date that could reach it
        for _ in range(6 * abs(offset) + 120):
            try:
                if rung_time(datetime.combine(day, time()), offset, calendar) > now:
                    break
            except CalendarYearMissing:
                if day < now.date():  # an earlier year nobody confirmed: later due dates may still count
                    day += timedelta(days=1)
                    continue
                latest = max(latest or day, day)
                break
            latest = max(latest or day, day)
            day += timedelta(days=1)
    return None if latest is None else datetime.combine(latest, time.max)


LADDER_BATCH = 500  # rungs one scheduler fires per pass at most: a midnight's thousands drain over a few passes
CANDIDATES = 2000  # tasks read per rung and pass


def climb(platform: Platform, worker: str, limit: int = LADDER_BATCH,
          budget: float | None = PASS_BUDGET) -> LadderResult:
    """Fire the rungs waiting tasks have reached and not yet had, at most `limit` and for at most `budget`
    seconds after the first (None: no bound; `sweeps.PASS_BUDGET`: a day's first thousands of automatic 督办 drain
    over a few passes and schedulers), the most overdue first; answers how many fired per rung.

    Claiming in batches: per rung one indexed query for at most CANDIDATES tasks that may have reached it and
    lack it (due by the rung's latest due time, anti-joined with the rungs fired), so a task whose rungs all
    fired is never read again and a pass over 100,000 open tasks reads only those crossing a rung. (Before,
    the 2,000 most overdue tasks were read whatever they had: once they all had every rung, no newer task
    ever climbed.)"""
    now = platform.clock.now()
    result = LadderResult(fired={})
    with platform.db.reading() as session:
        ladder = list(get_setting(session, "escalation.ladder"))
        calendar = load_calendar(session)
        units = [] if not calendar.regions else list(session.scalars(select(Unit.id)))
        regional = (unit_calendar(session, calendar, u) for u in units)
        everywhere = list({id(c): c for c in [calendar, *regional]}.values())  # each distinct calendar once
        found: dict[str, tuple[datetime | None, int | None]] = {}
        for rung in ladder:  # per rung: the tasks that may have reached it and lack it, the most overdue first
            cutoff = _latest_due_reached(int(rung["offset"]), everywhere, now)
            if cutoff is None:
                continue
            had = select(TaskEscalation.task_id).where(TaskEscalation.task_id == HumanTask.id,
                                                       TaskEscalation.rung == rung["rung"]).exists()
            found.update((task_id, (due_at, unit_id)) for task_id, due_at, unit_id in session.execute(
                select(HumanTask.id, HumanTask.due_at, HumanTask.unit_id).where(
                    HumanTask.state == "ready", HumanTask.role == "handler", HumanTask.paused_at.is_(None),
                    HumanTask.due_at.is_not(None), HumanTask.due_at <= cutoff, ~had)
                .order_by(HumanTask.due_at, HumanTask.id).limit(CANDIDATES)))
        candidates = sorted(((t, d, u) for t, (d, u) in found.items()), key=lambda c: (c[1] or now, c[0]))
        done = set(session.execute(select(TaskEscalation.task_id, TaskEscalation.rung).where(
            TaskEscalation.task_id.in_([c[0] for c in candidates])))) if candidates else set()
        calendars = {unit_id: unit_calendar(session, calendar, unit_id) for unit_id in {c[2] for c in candidates}}
    stop = monotonic() + (budget or 0)
    for task_id, due_at, unit_id in candidates:
        assert due_at is not None  # selected so
        for rung in ladder:
            if (task_id, rung["rung"]) in done:
                continue
            try:
                reached = rung_time(due_at, int(rung["offset"]), calendars[unit_id]) <= now
            except CalendarYearMissing:
                result.deferred += 1
                continue
            if reached:
                acted = sum(result.fired.values())
                if acted >= limit or (budget is not None and acted + result.skipped and monotonic() > stop):
                    return result  # the next pass goes on (a rung another scheduler had does not count)
                outcome = _fire(platform, worker, task_id, rung, now)
                if outcome is not None:
                    result.fired[rung["rung"]] = result.fired.get(rung["rung"], 0) + 1
                else:
                    result.skipped += 1
    return result


def _fire(platform: Platform, worker: str, task_id: str, rung: dict[str, Any],
          now: datetime) -> dict[str, Any] | None:
    """Claim and act on one rung of one task in one transaction; None when another scheduler had it first or
    the task no longer waits with a running clock."""
    actor = Actor(label=worker)
    with platform.db.unit_of_work() as session:
        case_id = session.scalar(select(HumanTask.case_id).where(HumanTask.id == task_id))
        if case_id is None:
            return None
        case = process.lock_case(session, case_id)
        task = session.get_one(HumanTask, task_id)
        if task.state != "ready" or task.paused_at is not None:
            return None
        if not _claim(session, task, rung, now, worker):
            session.rollback()
            return None
        outcome = ACTIONS[rung["action"]](session, platform, actor, case, task)
        session.execute(update(TaskEscalation)
                        .where(TaskEscalation.task_id == task_id, TaskEscalation.rung == rung["rung"])
                        .values(outcome=outcome).execution_options(synchronize_session=False))
        audit.record(session, platform, actor, f"escalation.{rung['action']}", case_id=case.id,
                     detail={"task_id": task.id, "task": task.spec_name, "title": task.title, "rung": rung["rung"],
                             "due_at": task.due_at.isoformat() if task.due_at else None, **outcome})
        session.commit()
        return outcome


def _claim(session: Session, task: HumanTask, rung: dict[str, Any], now: datetime, worker: str) -> bool:
    row = {"task_id": task.id, "rung": rung["rung"], "case_id": task.case_id, "unit_id": task.unit_id,
           "action": rung["action"], "raised_at": now, "raised_by": worker, "outcome": {}}
    insert = conflict_insert(session)
    stmt = insert(TaskEscalation).values(row).on_conflict_do_nothing().returning(TaskEscalation.task_id)
    return session.scalar(stmt) is not None


def _values(session: Session, case: Case, task: HumanTask) -> dict[str, str]:
    unit = session.get(Unit, task.unit_id) if task.unit_id else None
    return {"number": case.number, "task": task.title, "unit": unit.name if unit else "",
            "due_at": f"{task.due_at:%m月%d日%H:%M}" if task.due_at else ""}


def _remind(session: Session, platform: Platform, actor: Actor, case: Case, task: HumanTask) -> dict[str, Any]:
    """催办: an SMS to the task's handlers; the worklist shows the flag (the rung's row)."""
    people = outbox.reachable_people(session, task.unit_id, {task.role})
    for user_id, phone in people:
        outbox.enqueue(session, platform, dedupe_key=f"remind:{task.id}:{user_id}", template="reminder",
                       phone=phone, case_id=case.id, values=_values(session, case, task))
    return {"sms": len(people)}


def _notice(session: Session, platform: Platform, actor: Actor, case: Case, task: HumanTask) -> dict[str, Any]:
    """催办通知书: numbered once per case and unit, announced by SMS to the unit's handlers and leaders."""
    try:
        number = documents.issue_number(session, platform, actor, case, "urge_notice")
    except Conflict as e:  # no lead unit: nobody to address it to
        return {"skipped": e.message}
    people = outbox.reachable_people(session, task.unit_id, {task.role, "leader"})
    for user_id, phone in people:
        outbox.enqueue(session, platform, dedupe_key=f"urge:{task.id}:{user_id}", template="urge_notice",
                       phone=phone, case_id=case.id, values={**_values(session, case, task), "document": number})
    return {"document": number, "sms": len(people)}


def _supervise(session: Session, platform: Platform, actor: Actor, case: Case, task: HumanTask) -> dict[str, Any]:
    """自动督办 from the centre, the same message as a leader's, and a 通报 entry for the unit's leaders."""
    centre = session.get(Unit, case.registering_unit_id)
    by = f"{centre.name if centre else '中心'}(逾期自动督办)"
    note = f"「{task.title}」已于 {task.due_at:%Y-%m-%d %H:%M} 到期仍未办结,请立即办理并书面反馈。"
    try:  # the engine refuses (the case left handling) before anything is written: the claim stays, alone
        serial = tasks.supervise_locked(session, platform, actor, case, note, by, automatic=True, task_id=task.id)
    except Conflict as e:
        return {"skipped": e.message}
    return {"serial": serial, "note": note, "bulletin": True}


ACTIONS = {"remind": _remind, "notice": _notice, "supervise": _supervise}


def marks(session: Session, task_ids: list[str]) -> dict[str, list[str]]:
    """The rungs each task has reached (its worklist flags), by task id."""
    found: dict[str, list[str]] = {}
    if task_ids:
        for task_id, rung in session.execute(select(TaskEscalation.task_id, TaskEscalation.rung)
                                             .where(TaskEscalation.task_id.in_(task_ids))
                                             .order_by(TaskEscalation.raised_at)):
            found.setdefault(task_id, []).append(rung)
    return found


def bulletins(session: Session, unit_path: str, limit: int = 50) -> list[dict[str, Any]]:
    """通报: the automatic supervisions of tasks at the leader's unit or below, newest first."""
    subtree = select(Unit.id).where(Unit.path.startswith(unit_path, autoescape=True))
    rows = session.execute(select(TaskEscalation, HumanTask, Case, Unit)
                           .join(HumanTask, HumanTask.id == TaskEscalation.task_id)
                           .join(Case, Case.id == TaskEscalation.case_id).join(Unit, Unit.id == TaskEscalation.unit_id)
                           .where(TaskEscalation.action == "supervise", TaskEscalation.unit_id.in_(subtree))
                           .order_by(TaskEscalation.raised_at.desc()).limit(limit)).all()
    return [{"case_id": c.id, "number": c.number, "subject": c.subject, "unit": u.name, "task": t.title,
             "due_at": f"{t.due_at:%Y-%m-%d %H:%M}" if t.due_at else "", "at": f"{e.raised_at:%Y-%m-%d %H:%M}",
             "skipped": e.outcome.get("skipped")} for e, t, c, u in rows]
