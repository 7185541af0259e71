"""Running a case's process: under the case's row lock, run the engine, then save its state, rewrite the
task projection and the timers, and mirror status onto the case — all in the caller's transaction. Each
run answers a `RunChange`; the use case passes it to notifications. Deadlines are app/services/deadlines.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app import engine
from app.clock import LOCAL_TZ
from app.db import kept
from app.domain.calendar import WorkCalendar
from app.domain.masking import SENSITIVE_KINDS
from app.domain.statuses import ANSWERED, status_code
from app.errors import Conflict, HuiyinError, Invalid, NotFound
from app.models import (
    Case,
    DictionaryEntry,
    HumanTask,
    ProcessTimer,
    Unit,
    WorkflowState,
    case_assisting_unit,
)
from app.services import audit, deadlines
from app.services.actors import SYSTEM
from app.services.calendar import load_calendar
from app.services.platform import Platform
from app.services.versions import DefinitionVersion, version_of

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns
# Form fields that name units, with the words a refusal uses; any other `…_unit_id(s)` is "所选单位".
UNIT_FIELDS = {"lead_unit_id": "承办单位", "assisting_unit_ids": "协办单位", "review_unit_id": "复查单位",
               "re_review_unit_id": "复核单位"}


SUPERVISE_MESSAGE = "supervise"  # the message a 督办 sends (app/services/tasks.py)
COUNTERS = ("return_count", "reopen_count", "extension_count")  # process variables mirrored onto the case
SATISFACTION_CODES = frozenset({"satisfied", "basically_satisfied", "unsatisfied"})  # forms/follow_up.json
UNSTARTED = "unstarted"  # serializer_version of a case whose process never started; state_json = its start data


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


def start(session: Session, platform: Platform, case: Case, definition: DefinitionVersion,
          data: dict[str, Any]) -> RunChange:
    """Start the case's process and save the first run. A start that fails (ProcessIncident) has written
    nothing: the engine runs and the units it names are checked before anything is stored."""
    run = _engine_call(engine.start_workflow, definition.spec_json(session), data, engine_now(platform))
    state = WorkflowState(case_id=case.id, definition_id=definition.id, state_json="", serializer_version="",
                          revision=0, updated_at=platform.clock.now())
    return save(session, platform, case, state, run, new=True)


def load_state(session: Session, case: Case) -> tuple[WorkflowState, str]:
    """The case's engine state and the spec JSON of its definition version. The state is often in the session
    already (`steps.definition_of` read it with the forms), so no statement is sent for it; the case's row lock,
    taken before either read, keeps it current."""
    state = session.get(WorkflowState, case.id)
    if state is None:
        raise Conflict("该诉求件没有运行中的流程")
    if state.serializer_version == UNSTARTED:
        raise Conflict("该诉求件的流程未能启动，已转为异常件，待系统管理员处理后才能办理或督办")
    return state, version_of(session, state.definition_id).spec_json(session)


def reassign_unit(session: Session, platform: Platform, case: Case, old: int, new: int) -> bool:
    """A merged unit's open case (locked by the caller): the engine's unit variables name the unit it went
    into, so the steps still to come are given there and the next run does not send its tasks back. False
    when the case has no readable running process (an incident: its administrator sees to it)."""
    try:
        state, spec_json = load_state(session, case)
        run = _engine_call(engine.replace_unit, spec_json, state.state_json, old, new, engine_now(platform))
    except (Conflict, ProcessIncident):
        return False
    state.state_json, state.serializer_version = run.state_json, run.serializer_version
    state.revision += 1
    state.updated_at = platform.clock.now()
    units = {t.task_id: t.unit_id for t in run.tasks}
    for row in session.scalars(select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "ready")):
        if _is_id(units.get(row.id)):
            row.unit_id = units[row.id]
    return True


def complete(session: Session, platform: Platform, case: Case, task: HumanTask, form_data: dict[str, Any],
             user_id: int | None) -> RunChange:
    """Complete one ready task (compare-and-set on its row: a second completion gets Conflict). Units the
    form names are checked first: a wrong one is the user's error, refused before anything changes."""
    form_data = check_named_units(session, form_data) if isinstance(form_data, dict) else form_data
    now = platform.clock.now()
    state, spec_json = load_state(session, case)  # before the claim, which forgets what this transaction read
    claimed = session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.state == "ready")
                              .values(state="done", completed_at=now, completed_by_id=user_id)
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该任务已被他人处理,请刷新后查看最新状态")
    run = _engine_call(engine.complete_task, spec_json, state.state_json, task.id, form_data,
                       engine_now(platform))
    if case.responded_at is None and case.lead_unit_id is not None and task.unit_id == case.lead_unit_id:
        case.responded_at = now  # 响应: the lead unit acted on the case for the first time
    return save(session, platform, case, state, run, timers=engine.may_have_timers(spec_json))


def send_message(session: Session, platform: Platform, case: Case, name: str,
                 payload: dict[str, Any]) -> RunChange:
    state, spec_json = load_state(session, case)
    run = _engine_call(engine.send_message, spec_json, state.state_json, name, payload,
                       engine_now(platform))
    if name == SUPERVISE_MESSAGE:
        case.supervision_count = (case.supervision_count or 0) + 1
    return save(session, platform, case, state, run, timers=engine.may_have_timers(spec_json))


def run_due_timers(session: Session, platform: Platform, case: Case) -> RunChange:
    state, spec_json = load_state(session, case)
    run = _engine_call(engine.fire_due_timers, spec_json, state.state_json, engine_now(platform))
    return save(session, platform, case, state, run)


def engine_now(platform: Platform) -> datetime:
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


@dataclass(frozen=True)
class RunChange:
    """What one stored run changed, for the use case to pass on (notifications): `save` only stores."""

    run: engine.EngineRun
    status_before: str
    status_after: str
    new_tasks: tuple[HumanTask, ...] = ()
    cancelled_tasks: tuple[HumanTask, ...] = ()


def save(session: Session, platform: Platform, case: Case, state: WorkflowState, run: engine.EngineRun,
         new: bool = False, timers: bool = True) -> RunChange:
    """Store the run: engine state, the task projection, timers and the case's mirrored columns; answer
    what changed. `new`: the case's first run, so there are no earlier tasks or timers to compare with;
    `timers` False: the case's definition has no timer event, so it has no stored timers to compare with
    (a migration to another version passes True: the old version's timers are rewritten). A run that names a
    unit nobody could see is refused first, before anything is stored (a `new` state is added only then)."""
    for task in run.tasks:
        _check_unit(session, task)
    if new:
        session.add(state)
    now = platform.clock.now()
    state.state_json = run.state_json
    state.serializer_version = run.serializer_version
    state.revision += 1
    state.incident = None
    state.updated_at = now
    before = case.status
    _reclassify(session, platform, case, run)
    _mirror_case(session, case, run, now)
    _apply_extension(session, platform, case, run)
    created, cancelled = _rewrite_tasks(session, platform, case, run, now, new)
    if run.timers or (timers and not new):
        _rewrite_timers(session, case, run)
    session.flush()
    return RunChange(run, before, case.status, tuple(created), tuple(cancelled))


def _mirror_case(session: Session, case: Case, run: engine.EngineRun, now: datetime) -> None:
    # A step with no caseStatus keeps the last one; an old definition's word becomes its code.
    case.status = status_code(run.status) if run.status else case.status
    lead = run.data.get("lead_unit_id")
    if _is_id(lead) and lead != case.lead_unit_id and lead in _unit_ids(session):
        case.lead_unit_id = lead
        case.accepted_at = case.accepted_at or now
    assisting = {u for u in run.data.get("assisting_unit_ids") or [] if _is_id(u)}
    current = set(session.scalars(select(case_assisting_unit.c.unit_id)
                                  .where(case_assisting_unit.c.case_id == case.id))) if assisting else set()
    if assisting - current:
        session.execute(case_assisting_unit.insert(),
                        [{"case_id": case.id, "unit_id": u} for u in sorted(assisting - current)])
    mode = run.data.get("dispatch_mode")
    if isinstance(mode, str) and mode and len(mode) <= 20:
        case.dispatch_mode = mode  # 分流方向, for the combined query
    if run.finished and case.closed_at is None:
        case.closed_at = now
    _mirror_outcome(case, run, now)


def _mirror_outcome(case: Case, run: engine.EngineRun, now: datetime) -> None:
    """What reports count (answered, on time, 回访 result, returns/reopens/extensions) as columns, so a
    monthly report is a query over cases, not a walk through a million engine states. Read from the
    process data the definition sets and the status code it names — never from labels."""
    if case.accepted_on_time is None and case.accepted_at is not None:
        case.accepted_on_time = case.due_at is None or case.accepted_at <= case.due_at
    if case.replied_at is None and (case.status in ANSWERED or run.data.get("handling_outcome") == "direct_reply"):
        case.replied_at = now
        case.replied_on_time = case.due_at is None or now <= case.due_at  # due_at: the step just completed
    satisfaction = run.data.get("satisfaction")
    if isinstance(satisfaction, str) and satisfaction in SATISFACTION_CODES and "resolved" in run.submitted:
        case.satisfaction = satisfaction
        case.resolved = bool(run.data.get("resolved"))
        case.followed_up_at = now
    for name in COUNTERS:
        value = run.data.get(name)
        if _is_id(value) or value == 0:
            setattr(case, name, value)


def _reclassify(session: Session, platform: Platform, case: Case, run: engine.EngineRun) -> None:
    """受理 may correct the kind (a complaint that is really a consultation) or the category: the case row
    follows the process data, so lists, statistics and printed limits count it as what it was found to be.
    Later steps' rules (`'hotline.' + kind`) read the same process data. A 举报 found stays protected."""
    wanted = {field: value for field in ("kind", "category")
              if isinstance(value := run.data.get(field), str) and value and value != getattr(case, field)}
    if not wanted:
        return
    known = set(session.scalars(select(DictionaryEntry.kind).where(
        DictionaryEntry.active, or_(*(and_(DictionaryEntry.kind == f, DictionaryEntry.code == v)
                                      for f, v in wanted.items())))))
    errors = {f: f"{'诉求类型' if f == 'kind' else '事项分类'}无效:{v}" for f, v in wanted.items() if f not in known}
    if errors:
        raise Invalid("；".join(errors.values()), errors)
    before = {field: getattr(case, field) for field in wanted}
    for field, value in wanted.items():
        setattr(case, field, value)
    if case.kind in SENSITIVE_KINDS:
        case.sensitivity = "sensitive"
    audit.record(session, platform, SYSTEM, "case.reclassified", case_id=case.id,
                 detail={"before": before, "after": wanted})


def _rewrite_tasks(session: Session, platform: Platform, case: Case, run: engine.EngineRun, now: datetime,
                   new: bool) -> tuple[list[HumanTask], list[HumanTask]]:
    """Ready tasks as the run left them; answers the tasks created and those the process cancelled."""
    existing = {} if new else {t.id: t for t in session.scalars(
        select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "ready"))}
    calendar: WorkCalendar | None = None
    ready: list[HumanTask] = []
    created: list[HumanTask] = []
    for task in run.tasks:  # their units were checked by `save`
        row = existing.pop(task.task_id, None)
        if row is not None:
            row.unit_id = task.unit_id
            ready.append(row)
            continue
        due = warn = None
        if task.deadline_rule:
            calendar = calendar or load_calendar(session)
            due, warn = deadlines.task_deadline(session, platform, calendar, case.id, task.deadline_rule,
                                                task.unit_id, now, new_case=new)
        row = HumanTask(id=task.task_id, case_id=case.id, spec_name=task.spec_name, title=task.title,
                        role=task.role, unit_id=task.unit_id, form=task.form, deadline_rule=task.deadline_rule,
                        state="ready", created_at=now, due_at=due, warn_at=warn)
        session.add(row)
        ready.append(row)
        created.append(row)
    for gone in existing.values():  # cancelled by the process (a boundary event, a withdrawal)
        gone.state = "cancelled"
        gone.completed_at = now
    case.due_at = min((t.due_at for t in ready if t.due_at is not None), default=None)
    return created, list(existing.values())


def _is_id(value: Any) -> bool:
    """An integer that can be a row id (bools are ints to Python; ids past 32 bits would break the query)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _check_unit(session: Session, task: engine.ReadyTask) -> None:
    """A task nobody could ever see (its unit variable empty or unknown) is a broken definition, not a
    task: the step rolls back and administrators see why. (A unit the user picked was checked before the
    engine ran, by `check_named_units`.)"""
    unit = task.unit_id
    if not _is_id(unit) or unit not in _unit_ids(session):
        raise ProcessIncident("流程给出的承办单位无效,已转为异常件,请联系系统管理员处理",
                              {"element": task.spec_name, "reason": f"unit {unit!r}"})


def _unit_ids(session: Session) -> frozenset[int]:
    """Every unit's id (a merged or retired unit's too: its old tasks still name it), read again after a change."""
    return kept(session, "unit", lambda: frozenset(session.scalars(select(Unit.id))), part="ids")


def check_named_units(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """Form fields that name units (`…_unit_id`, `…_unit_ids`) must name existing, active units: a unit
    the user picked is the user's to correct (422, nothing changed), never an incident. Answers the data
    with digit strings read as ids."""
    fields = {k: v for k, v in data.items() if k.endswith(("_unit_id", "_unit_ids")) and v is not None}
    if not fields:
        return data
    read = {k: [_read_id(x) for x in v] if isinstance(v, list) else _read_id(v) for k, v in fields.items()}
    wanted = {i for v in read.values() for i in (v if isinstance(v, list) else [v]) if isinstance(i, int)}
    active: dict[int, bool] = {i: on for i, on in session.execute(
        select(Unit.id, Unit.active).where(Unit.id.in_(wanted)))} if wanted else {}
    errors = {}
    for name, value in read.items():
        label = UNIT_FIELDS.get(name, "所选单位")
        ids = value if isinstance(value, list) else [value]
        if any(i not in active for i in ids):
            errors[name] = f"{label}不存在"
        elif not all(active[i] for i in ids):
            errors[name] = f"{label}已停用"
    if errors:
        raise Invalid("；".join(errors.values()), errors)
    return {**data, **read}


def _read_id(value: Any) -> Any:
    """An id from an int or a digit string; anything else (kept as it is) names no unit."""
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 12:
        value = int(value.strip())
    return value if _is_id(value) else None


def _apply_extension(session: Session, platform: Platform, case: Case, run: engine.EngineRun) -> None:
    """The process approved more extension days (`extension_days`, for the rule named by `handle_rule`)."""
    total, rule_key = run.data.get("extension_days"), run.data.get("handle_rule")
    if isinstance(total, int) and isinstance(rule_key, str):
        deadlines.extend(session, platform, case, rule_key, total)


def _rewrite_timers(session: Session, case: Case, run: engine.EngineRun) -> None:
    existing = {t.id: t for t in session.scalars(select(ProcessTimer).where(ProcessTimer.case_id == case.id))}
    for timer in run.timers:
        row = existing.pop(timer.task_id, None)
        if row is None:
            session.add(ProcessTimer(id=timer.task_id, case_id=case.id, spec_name=timer.spec_name,
                                     fire_at=naive_local(timer.fire_at)))
        else:
            row.fire_at = naive_local(timer.fire_at)
    for gone in existing.values():
        session.delete(gone)


def naive_local(at: datetime) -> datetime:
    """Timers come back aware; the database keeps naive local time."""
    if at.tzinfo is None:
        return at
    return at.astimezone(LOCAL_TZ).replace(tzinfo=None)

