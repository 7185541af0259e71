"""试运行: a draft definition run in memory from its start — no case is registered and no row is written
(the session is a reading one) — showing each user task it creates with its lane, unit and due date on
the real calendar (the deadline rule table and `deadlines.period_times`), the status set, the path on the
diagram, and where it stops. The draft first passes the full deploy checks; if it fails them, their
errors are the answer. Engine part: app/engine/dry_run.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import engine
from app.clock import LOCAL_TZ
from app.domain.calendar import CalendarYearMissing, WorkCalendar
from app.errors import Invalid
from app.models import DeadlineRule, Unit
from app.services import dictionary
from app.services.actors import Actor
from app.services.calendar import load_calendar, load_rule
from app.services.deadlines import period_times
from app.services.definitions import START_VARIABLES, compiled_draft, require_deployer
from app.services.platform import Platform
from app.services.process import naive_local

STOPS = {"end": "流程结束", "message": "等待消息（如督办、撤回）", "timer": "等待定时器", "waiting": "等待外部事件",
         "error": "出错停止", "max_steps": "步数超过上限（可能是循环）", "stop_at": "停在指定步骤",
         "invalid": "未通过部署检查"}


def _start_data(session: Session, start: dict[str, Any]) -> dict[str, Any]:
    """What intake would put into a case at start, for a made-up complaint by phone at the centre."""
    centre = session.scalar(select(Unit.id).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1))
    data: dict[str, Any] = {"case_id": 0, "case_number": "试运行", "kind": "complaint", "channel": "phone",
                            "category": None, "centre_unit_id": centre, "lead_unit_id": None,
                            "assisting_unit_ids": [], "duplicate_of": None, "direct_reply": None}
    unknown = sorted(set(start) - set(START_VARIABLES))
    if unknown:
        raise Invalid(f"start 只能给出启动变量（{'、'.join(START_VARIABLES)}）", {"start": "、".join(unknown)})
    return {**data, **start}


def _picked_unit(session: Session, centre: Any) -> int | None:
    """The unit a dry run names where a form asks for one and no answer gave it: the first active unit
    under the centre."""
    return session.scalar(select(Unit.id).where(Unit.active.is_(True), Unit.parent_id.is_not(None),
                                                Unit.id != centre).order_by(Unit.id).limit(1))


def _due(session: Session, calendar: WorkCalendar, rule_key: str | None, started: datetime
         ) -> tuple[str | None, str | None]:
    """The due time of a step under `rule_key` started at `started`, and why there is none."""
    if not rule_key:
        return None, "不计时限"
    if session.get(DeadlineRule, rule_key) is None:
        return None, f"时限规则不存在:{rule_key}"
    rule = load_rule(session, rule_key)
    try:
        due, _warn = period_times(session, calendar, rule, started)
    except CalendarYearMissing as e:
        return None, e.message
    return due.isoformat(), None


def _steps(session: Session, run: engine.DryRun, started: datetime) -> list[dict[str, Any]]:
    calendar = load_calendar(session)
    units: dict[int, str] = {i: n for i, n in session.execute(select(Unit.id, Unit.name))}
    statuses = dictionary.status_labels(session)
    done_at: dict[str, datetime] = {}  # a rule counted from 派单 / 签收 starts when that step was done
    shown = []
    for step in run.steps:
        at = naive_local(step.at)
        due, why = (None, None)
        if step.kind == "user":
            rule = session.get(DeadlineRule, step.rule) if step.rule else None
            counted = rule.counted_from if rule is not None else "step_start"
            begin = started if counted == "registration" else done_at.get(counted, at)
            due, why = _due(session, calendar, step.rule, begin)
        shown.append({"kind": step.kind, "task": step.task, "title": step.title, "lane": step.lane,
                      "unit": units.get(step.unit_id) if isinstance(step.unit_id, int) else None,
                      "unit_id": step.unit_id if isinstance(step.unit_id, int) else None,
                      "rule": step.rule, "due_at": due, "no_due_reason": why, "status": step.status,
                      "status_label": statuses.get(step.status or "", step.status or ""), "at": at.isoformat(),
                      "answers": step.answers, "done": step.done,
                      "timers": [{"element": name, "fire_at": naive_local(when).isoformat()}
                                 for name, when in step.timers]})
        if step.done:
            done_at[step.task] = at
    return shown


def dry_run(platform: Platform, actor: Actor, bpmn: bytes, forms: dict[str, bytes], library: dict[str, bytes],
            answers: dict[str, Any], *, start: dict[str, Any] | None = None, fire_timers: bool = False,
            stop_at: str | None = None) -> dict[str, Any]:
    """Run the draft in memory with the answers per task spec name; nothing is written."""
    require_deployer(actor, "试运行流程定义")
    if not isinstance(answers, dict) or not all(isinstance(v, (dict, list)) for v in answers.values()):
        raise Invalid("answers 必须是以任务编号为键的 JSON 对象，值为表单答案（对象）或按次序的答案列表",
                      {"answers": "格式不正确"})
    with platform.db.reading() as session:
        compiled, errors, files = compiled_draft(session, bpmn, forms, library)
        if compiled is None:
            return {"key": None, "steps": [], "path": [], "errors": errors, "taken": list(files.taken),
                    "stopped_at": {"reason": "invalid", "label": STOPS["invalid"],
                                   "elements": [e["element"] for e in errors]}}
        data = _start_data(session, start or {})
        now = platform.clock.now()
        run = engine.dry_run(compiled.spec_json, data, answers, now.replace(tzinfo=LOCAL_TZ),
                             unit_id=_picked_unit(session, data["centre_unit_id"]), fire_timers=fire_timers,
                             stop_at=stop_at)
        steps = _steps(session, run, now)
    reason = str(run.stopped_at["reason"])
    return {"key": compiled.key, "steps": steps, "path": run.path, "errors": run.errors, "taken": list(files.taken),
            "stopped_at": {**run.stopped_at, "label": STOPS.get(reason, reason)}}
