"""Running a case's process: under the case's row lock, run the engine, then save its state, rewrite the
task projection and the timers, and mirror status onto the case — all in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import engine
from app.clock import LOCAL_TZ
from app.domain.calendar import CalendarYearMissing, WorkCalendar
from app.domain.deadlines import ExtensionRefused, extended_due_date
from app.domain.deadlines import due_at as rule_due_at
from app.domain.lights import warn_at as rule_warn_at
from app.errors import Conflict, HuiyinError, Invalid, NotFound
from app.models import (
    Case,
    CaseDeadline,
    HumanTask,
    ProcessDefinition,
    ProcessTimer,
    Unit,
    WorkflowState,
    case_assisting_unit,
)
from app.services import audit, notify
from app.services.actors import SYSTEM
from app.services.calendar import load_calendar, load_rule
from app.services.platform import Platform
from app.services.settings import get_setting


class ProcessIncident(HuiyinError):
    """A script in the process failed or ran over its limits; the case waits for an administrator."""

    status, code = 500, "process_incident"


def lock_case(session: Session, case_id: int) -> Case:
    """The case row, locked until commit: one writer per case (SQLite writers already hold the database)."""
    # populate_existing: a row read before the lock is refreshed with what the previous writer committed.
    case = session.scalar(select(Case).where(Case.id == case_id).with_for_update(of=Case)
                          .execution_options(populate_existing=True))
    if case is None:
        raise NotFound("诉求件不存在")
    return case


@dataclass(frozen=True)
class Definition:
    """A deployed version as a run needs it; the spec JSON (large, immutable) is cached by checksum."""

    id: int
    key: str
    version: int
    checksum: str

    def spec_json(self, session: Session) -> str:
        spec = _SPECS.get(self.checksum)
        if spec is None:
            spec = session.scalar(select(ProcessDefinition.spec_json).where(ProcessDefinition.id == self.id)) or ""
            _SPECS[self.checksum] = spec
        return spec


_SPECS: dict[str, str] = {}  # checksum → spec JSON; versions never change once deployed
_REF = (ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.checksum)


def latest_definition(session: Session, key: str) -> Definition:
    row = session.execute(select(*_REF).where(ProcessDefinition.key == key)
                          .order_by(ProcessDefinition.version.desc()).limit(1)).first()
    if row is None:
        raise Invalid(f"流程定义不存在:{key}", {"process": f"流程定义不存在:{key}"})
    return Definition(*row)


def start(session: Session, platform: Platform, case: Case, definition: Definition,
          data: dict[str, Any]) -> engine.EngineRun:
    """Start the case's process and save the first run."""
    run = _engine_call(engine.start_workflow, definition.spec_json(session), data, _engine_now(platform))
    state = WorkflowState(case_id=case.id, definition_id=definition.id, state_json="", serializer_version="",
                          revision=0, updated_at=platform.clock.now())
    session.add(state)
    save(session, platform, case, state, run, new=True)
    return run


def load_state(session: Session, case: Case) -> tuple[WorkflowState, str]:
    """The case's engine state and the spec JSON of its definition version."""
    row = session.execute(select(WorkflowState, *_REF).join(ProcessDefinition,
                                                            ProcessDefinition.id == WorkflowState.definition_id)
                          .where(WorkflowState.case_id == case.id)).first()
    if row is None:
        raise Conflict("该诉求件没有运行中的流程")
    return row[0], Definition(*row[1:]).spec_json(session)


def complete(session: Session, platform: Platform, case: Case, task: HumanTask, form_data: dict[str, Any],
             user_id: int | None) -> engine.EngineRun:
    """Complete one ready task (compare-and-set on its row: a second completion gets Conflict)."""
    now = platform.clock.now()
    claimed = session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.state == "ready")
                              .values(state="done", completed_at=now, completed_by_id=user_id)
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该任务已被他人处理,请刷新后查看最新状态")
    state, spec_json = load_state(session, case)
    run = _engine_call(engine.complete_task, spec_json, state.state_json, task.id, form_data,
                       _engine_now(platform))
    save(session, platform, case, state, run)
    return run


def send_message(session: Session, platform: Platform, case: Case, name: str,
                 payload: dict[str, Any]) -> engine.EngineRun:
    state, spec_json = load_state(session, case)
    run = _engine_call(engine.send_message, spec_json, state.state_json, name, payload,
                       _engine_now(platform))
    save(session, platform, case, state, run)
    return run


def fire_timers(session: Session, platform: Platform, case: Case) -> engine.EngineRun:
    state, spec_json = load_state(session, case)
    run = _engine_call(engine.fire_due_timers, spec_json, state.state_json, _engine_now(platform))
    save(session, platform, case, state, run)
    return run


def _engine_now(platform: Platform) -> datetime:
    """The engine compares aware times; ours are naive local wall-clock times."""
    return platform.clock.now().replace(tzinfo=LOCAL_TZ)


def _engine_call(fn: Any, *args: Any) -> engine.EngineRun:
    """Translate engine errors into the platform's vocabulary."""
    try:
        return fn(*args)
    except engine.FormInvalid as e:
        raise Invalid("表单填写有误", e.errors) from e
    except engine.MessageNotExpected as e:
        raise Conflict("该诉求件当前不在可督办的阶段(未在办理中或已办结)") from e
    except engine.TaskNotReady as e:
        raise Conflict("该任务已被他人处理,请刷新后查看最新状态") from e
    except engine.ScriptFailed as e:
        raise ProcessIncident("流程脚本执行失败,已转为异常件,请联系系统管理员处理",
                              {"element": e.element_id, "reason": str(e)}) from e


def save(session: Session, platform: Platform, case: Case, state: WorkflowState, run: engine.EngineRun,
         new: bool = False) -> None:
    """Store the run: engine state, the task projection, timers and the case's mirrored columns.
    `new`: the case's first run, so there are no earlier tasks or timers to compare with."""
    now = platform.clock.now()
    state.state_json = run.state_json
    state.serializer_version = run.serializer_version
    state.revision += 1
    state.incident = None
    state.updated_at = now
    _mirror_case(session, platform, case, run, now)
    _apply_extension(session, case, run)
    _rewrite_tasks(session, platform, case, run, now, new)
    if run.timers or not new:
        _rewrite_timers(session, case, run)
    session.flush()


def _mirror_case(session: Session, platform: Platform, case: Case, run: engine.EngineRun, now: datetime) -> None:
    before = case.status
    case.status = run.status or before  # a step with no caseStatus keeps the last one
    if before != case.status:
        notify.status_changed(session, platform, case, before)
    lead = run.data.get("lead_unit_id")
    if isinstance(lead, int) and lead != case.lead_unit_id and session.get(Unit, lead) is not None:
        case.lead_unit_id = lead
        case.accepted_at = case.accepted_at or now
    assisting = {u for u in run.data.get("assisting_unit_ids") or [] if isinstance(u, int)}
    current = set(session.scalars(select(case_assisting_unit.c.unit_id)
                                  .where(case_assisting_unit.c.case_id == case.id))) if assisting else set()
    if assisting - current:
        session.execute(case_assisting_unit.insert(),
                        [{"case_id": case.id, "unit_id": u} for u in sorted(assisting - current)])
    if run.finished and case.closed_at is None:
        case.closed_at = now


def _rewrite_tasks(session: Session, platform: Platform, case: Case, run: engine.EngineRun, now: datetime,
                   new: bool) -> None:
    existing = {} if new else {t.id: t for t in session.scalars(
        select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "ready"))}
    calendar: WorkCalendar | None = None
    ready: list[HumanTask] = []
    for task in run.tasks:
        _check_unit(session, task)
        row = existing.pop(task.task_id, None)
        if row is not None:
            row.unit_id = task.unit_id
            ready.append(row)
            continue
        due = warn = None
        if task.deadline_rule:
            calendar = calendar or load_calendar(session)
            due, warn = _deadline(session, platform, calendar, case, task, now)
        row = HumanTask(id=task.task_id, case_id=case.id, spec_name=task.spec_name, title=task.title,
                        role=task.role, unit_id=task.unit_id, form=task.form, deadline_rule=task.deadline_rule,
                        state="ready", created_at=now, due_at=due, warn_at=warn)
        session.add(row)
        ready.append(row)
        notify.task_created(session, platform, case, row)
    for gone in existing.values():  # cancelled by the process (a boundary event, a withdrawal)
        gone.state = "cancelled"
        gone.completed_at = now
    case.due_at = min((t.due_at for t in ready if t.due_at is not None), default=None)


def _check_unit(session: Session, task: engine.HumanTask) -> None:
    """A task nobody could ever see (its unit variable empty or unknown) is a broken definition, not a
    task: the step rolls back and administrators see why."""
    unit = task.unit_id
    if isinstance(unit, bool) or not isinstance(unit, int) or session.get(Unit, unit) is None:
        raise ProcessIncident("流程给出的承办单位无效,已转为异常件,请联系系统管理员处理",
                              {"element": task.spec_name, "reason": f"unit {unit!r}"})


def _deadline(session: Session, platform: Platform, calendar: WorkCalendar, case: Case, task: engine.HumanTask,
              now: datetime) -> tuple[datetime | None, datetime | None]:
    """The due and warning times for a task: the period already running for this rule and unit, or a new one."""
    assert task.deadline_rule
    unit_id = task.unit_id or 0
    anchor = session.get(CaseDeadline, (case.id, task.deadline_rule, unit_id))
    if anchor is None:
        rule = load_rule(session, task.deadline_rule)
        try:
            due = rule_due_at(rule, now, calendar)
        except CalendarYearMissing as e:
            # Never a guess: the task waits without a due date and administrators are told; confirming the
            # year (admin.confirm_year) sets it from the task's start.
            audit.record(session, platform, SYSTEM, "deadline.calendar_missing", case_id=case.id,
                         detail={"rule": task.deadline_rule, "year": e.year, "message": str(e)})
            return None, None
        warn = rule_warn_at(now, due, calendar, float(get_setting(session, "lights.yellow_fraction")))
        anchor = CaseDeadline(case_id=case.id, rule_key=task.deadline_rule, unit_id=unit_id, started_at=now,
                              due_at=due, warn_at=warn, extended_by=0)
        session.add(anchor)
    return anchor.due_at, anchor.warn_at


def _apply_extension(session: Session, case: Case, run: engine.EngineRun) -> None:
    """Move the handling deadline when the process has approved more extension days (`extension_days`,
    counted for the rule named by `handle_rule`); never past the rule's maximum."""
    total, rule_key = run.data.get("extension_days"), run.data.get("handle_rule")
    if not isinstance(total, int) or not isinstance(rule_key, str) or total <= 0:
        return
    anchor = session.get(CaseDeadline, (case.id, rule_key, case.lead_unit_id or 0))
    if anchor is None or anchor.extended_by >= total:
        return
    rule, calendar = load_rule(session, rule_key), load_calendar(session)
    try:
        due = extended_due_date(rule, anchor.due_at.date(), total - anchor.extended_by, calendar,
                                already_extended=anchor.extended_by)
    except ExtensionRefused as e:
        raise Invalid(str(e), {"approved_extension_days": str(e)}) from e
    anchor.due_at = datetime.combine(due, anchor.due_at.time())
    anchor.warn_at = rule_warn_at(anchor.started_at, anchor.due_at, calendar,
                                  float(get_setting(session, "lights.yellow_fraction")))
    anchor.extended_by = total
    for task in session.scalars(select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "ready",
                                                        HumanTask.deadline_rule == rule_key)):
        task.due_at, task.warn_at = anchor.due_at, anchor.warn_at


def _rewrite_timers(session: Session, case: Case, run: engine.EngineRun) -> None:
    existing = {t.id: t for t in session.scalars(select(ProcessTimer).where(ProcessTimer.case_id == case.id))}
    for timer in run.timers:
        row = existing.pop(timer.task_id, None)
        if row is None:
            session.add(ProcessTimer(id=timer.task_id, case_id=case.id, spec_name=timer.spec_name,
                                     fire_at=_naive(timer.fire_at)))
        else:
            row.fire_at = _naive(timer.fire_at)
    for gone in existing.values():
        session.delete(gone)


def _naive(at: datetime) -> datetime:
    """Timers come back aware; the database keeps naive local time."""
    if at.tzinfo is None:
        return at
    return at.astimezone(LOCAL_TZ).replace(tzinfo=None)


def set_pending_deadlines(session: Session, platform: Platform) -> int:
    """Give every waiting task that has a rule but no due date (its year was unconfirmed) its due date now,
    counted from when the task began; answers how many were set."""
    calendar = load_calendar(session)
    count = 0
    for task in session.scalars(select(HumanTask).where(HumanTask.state == "ready", HumanTask.due_at.is_(None),
                                                        HumanTask.deadline_rule.is_not(None))):
        assert task.deadline_rule
        rule = load_rule(session, task.deadline_rule)
        try:
            due = rule_due_at(rule, task.created_at, calendar)
        except CalendarYearMissing:
            continue
        warn = rule_warn_at(task.created_at, due, calendar, float(get_setting(session, "lights.yellow_fraction")))
        key = (task.case_id, task.deadline_rule, task.unit_id or 0)
        if session.get(CaseDeadline, key) is None:
            session.add(CaseDeadline(case_id=task.case_id, rule_key=task.deadline_rule, unit_id=task.unit_id or 0,
                                     started_at=task.created_at, due_at=due, warn_at=warn, extended_by=0))
        task.due_at, task.warn_at = due, warn
        case = session.get_one(Case, task.case_id)
        case.due_at = min(d for d in (case.due_at, due) if d is not None)
        count += 1
    return count
