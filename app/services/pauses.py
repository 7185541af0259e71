"""Pauses of a task's clock: time the law does not count (听证, 鉴定/检测, 补充材料) is not counted.

A pause is a service-level state over the task, not a BPMN path: the process does not move while the clock
stands still, and a time limit is the platform's business (docs/deadlines.md). A handler who may work the
task asks with a reason; where the reason's rule says so a leader above the task's unit approves, never
the one who asked. While it runs the task's `paused_at` is set: the light shows 暂停 and neither warnings nor
the escalation ladder fire. On resume the due date moves by the working days paused (capped at the
reason's maximum). Every step is audited, so the case timeline shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, Invalid, NotFound, NotPermitted
from app.models import Case, DictionaryEntry, HumanTask, PauseRule, TaskPause
from app.services import audit, deadlines, dictionary, scope
from app.services.actors import Actor
from app.services.calendar import load_calendar, unit_calendar
from app.services.platform import Platform
from app.services.process import lock_case
from app.services.scope import find_case
from app.services.tasks import find_task, workable_by

KIND = "pause_reason"
OPEN = ("requested", "running")

# The stock pause reasons: code → (words, longest credit in working days, needs a leader's approval, the steps
# it applies to ([] = any), legal basis). Seeded by code; an administrator's edits are never overwritten.
SEED: dict[str, tuple[str, int, bool, list[str], str]] = {
    "hearing": ("听证", 30, True, ["re_review_decision"],
                "《信访工作条例》第三十六条第二款:复核机关可以按照要求举行听证,听证所需时间不计算在复核时限内。"
                "条例未规定听证的最长时间,30 个工作日为本地上限,可修改。"),
    "appraisal": ("鉴定/检测", 30, True, [],
                  "需要鉴定、检测、勘验的,所需时间不计入办理时限(各地 12345 热线办理规范的通行做法;"
                  "请填写本地规定的条款)。"),
    "material": ("补充材料", 10, False, [],
                 "需要诉求人补充材料的,补充材料所需时间不计入办理时限(各地 12345 热线办理规范的通行做法;"
                 "请填写本地规定的条款)。"),
}


def seed_rules(session: Session) -> list[str]:
    """Add each stock pause reason missing by code (its words in the dictionary, its rule in `pause_rule`)."""
    dictionary.add_missing(session, KIND, {code: words for code, (words, *_) in SEED.items()})
    have = set(session.scalars(select(PauseRule.code)))
    missing = [code for code in SEED if code not in have]
    session.add_all(PauseRule(code=code, max_days=SEED[code][1], needs_approval=SEED[code][2], steps=SEED[code][3],
                              legal_basis=SEED[code][4]) for code in missing)
    session.flush()
    return missing


def reasons(session: Session) -> list[dict[str, Any]]:
    """The active pause reasons with their rules, in the dictionary's order."""
    rules = {r.code: r for r in session.scalars(select(PauseRule))}
    return [{"code": code, "label": words, "max_days": rules[code].max_days,
             "needs_approval": rules[code].needs_approval, "steps": list(rules[code].steps),
             "legal_basis": rules[code].legal_basis}
            for code, words in dictionary.labels(session, KIND).items() if code in rules]


def list_reasons(platform: Platform) -> list[dict[str, Any]]:
    """The pause reasons for API clients."""
    with platform.db.reading() as session:
        return reasons(session)


def request_pause(platform: Platform, actor: Actor, task_id: str, reason: str, note: str) -> dict[str, Any]:
    """A handler asks to stop the task's clock; it stops at once when the reason needs no approval."""
    with platform.db.unit_of_work() as session:
        task, _ = find_task(session, actor, task_id)
        if session.scalar(select(HumanTask.id).where(HumanTask.id == task.id, *workable_by(actor))) is None:
            raise NotPermitted("该任务不属于您的岗位或单位")
        rule = _rule(session, reason, task)
        case = lock_case(session, task.case_id)
        if session.scalar(select(TaskPause.id).where(TaskPause.task_id == task.id, TaskPause.state.in_(OPEN))):
            raise Conflict("该任务已有待审批或进行中的暂停")
        now = platform.clock.now()
        pause = TaskPause(task_id=task.id, case_id=case.id, reason=reason, note=note, state="requested",
                          requested_by_id=actor.user_id, requested_at=now)
        session.add(pause)
        session.flush()
        audit.record(session, platform, actor, "task.pause_requested", case_id=case.id,
                     detail={"pause_id": pause.id, "task": task.spec_name, "title": task.title, "reason": reason,
                             "note": note})
        if not rule.needs_approval:
            _start(session, platform, actor, pause, task, now)
        session.commit()
        return view(session, pause)


def decide_pause(platform: Platform, actor: Actor, pause_id: int, approve: bool, opinion: str) -> dict[str, Any]:
    """A leader above the task's unit approves (the clock stops now) or refuses; never the one who asked."""
    if not actor.can("case.approve"):
        raise NotPermitted("没有审批权限")
    with platform.db.unit_of_work() as session:
        pause, task = _pause(session, actor, pause_id)
        if not _above(session, actor, task):
            raise NotPermitted("只有该任务所在单位或其上级单位的领导可以审批")
        if actor.user_id is not None and actor.user_id == pause.requested_by_id:
            raise NotPermitted("审批人不能是申请人本人")
        lock_case(session, pause.case_id)
        if pause.state != "requested":
            raise Conflict("该暂停申请已处理")
        now = platform.clock.now()
        pause.decided_by_id, pause.decided_at = actor.user_id, now
        detail = {"pause_id": pause.id, "task": task.spec_name, "reason": pause.reason, "opinion": opinion}
        if approve:
            audit.record(session, platform, actor, "task.pause_approved", case_id=pause.case_id, detail=detail)
            _start(session, platform, actor, pause, task, now)
        else:
            pause.state = "refused"
            audit.record(session, platform, actor, "task.pause_refused", case_id=pause.case_id, detail=detail)
        session.commit()
        return view(session, pause)


def resume(platform: Platform, actor: Actor, pause_id: int) -> dict[str, Any]:
    """Start the clock again: the due date moves by the working days paused, at most the reason's maximum."""
    with platform.db.unit_of_work() as session:
        pause, task = _pause(session, actor, pause_id)
        workable = session.scalar(select(HumanTask.id).where(HumanTask.id == task.id, *workable_by(actor)))
        if workable is None and not (actor.can("case.approve") and _above(session, actor, task)):
            raise NotPermitted("只有经办人或其单位领导可以恢复计时")
        case = lock_case(session, pause.case_id)
        if pause.state != "running" or pause.started_at is None:
            raise Conflict("该暂停不在进行中")
        now = platform.clock.now()
        rule = session.get_one(PauseRule, pause.reason)
        calendar = unit_calendar(session, load_calendar(session), task.unit_id)
        elapsed = calendar.working_days_between(pause.started_at.date(), now.date())
        credited = min(elapsed, rule.max_days)
        task.paused_at = None
        pause.state, pause.ended_at, pause.ended_by_id = "ended", now, actor.user_id
        pause.due_before, pause.credited_days = task.due_at, credited
        if task.deadline_rule:
            deadlines.postpone(session, case, task.deadline_rule, task.unit_id, credited)
        pause.due_after = task.due_at
        audit.record(session, platform, actor, "task.resumed", case_id=case.id, detail={
            "pause_id": pause.id, "task": task.spec_name, "reason": pause.reason, "paused_working_days": elapsed,
            "credited_days": credited, "due_before": _iso(pause.due_before), "due_after": _iso(pause.due_after)})
        session.commit()
        return view(session, pause)


def case_pauses(session: Session, case_id: int) -> list[dict[str, Any]]:
    """Every pause of a case, oldest first, as the case page and the API show them."""
    return [view(session, p) for p in session.scalars(select(TaskPause).where(TaskPause.case_id == case_id)
                                                      .order_by(TaskPause.id))]


def for_case_page(session: Session, actor: Actor, case_id: int, tasks: Sequence[HumanTask],
                  workable: frozenset[str]) -> dict[str, Any]:
    """What the case page offers: each pause with what this reader may do with it, and the reasons each
    workable task may be paused for. `tasks`: every task of the case, `workable`: the ready ones the reader
    may work (cases.case_rows read both), so a pause costs no query of its own."""
    by_id = {t.id: t for t in tasks}
    rows = []
    for pause in session.scalars(select(TaskPause).where(TaskPause.case_id == case_id).order_by(TaskPause.id)):
        task = by_id.get(pause.task_id) or session.get_one(HumanTask, pause.task_id)
        leads = actor.can("case.approve") and _above(session, actor, task)
        rows.append(dict(view(session, pause),
                         may_decide=pause.state == "requested" and leads and actor.user_id != pause.requested_by_id,
                         may_resume=pause.state == "running" and (task.id in workable or leads)))
    open_tasks = {p["task_id"] for p in rows if p["state"] in OPEN}
    offered = {}
    pausable = [t for t in tasks if t.id in workable and t.id not in open_tasks and t.due_at is not None]
    known = reasons(session) if pausable else []
    for task in pausable:
        offered[task.id] = [r for r in known if not r["steps"] or task.spec_name in r["steps"]]
    return {"pauses": rows, "reasons_by_task": offered}


def list_case_pauses(platform: Platform, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """The pauses of a case the actor may see."""
    with platform.db.reading() as session:
        find_case(session, actor, case_id)
        return case_pauses(session, case_id)


def view(session: Session, pause: TaskPause) -> dict[str, Any]:
    task = session.get_one(HumanTask, pause.task_id)
    return {"id": pause.id, "task_id": pause.task_id, "task": task.spec_name, "title": task.title,
            "reason": pause.reason, "reason_label": dictionary.label(session, KIND, pause.reason),
            "note": pause.note, "state": pause.state, "requested_at": _iso(pause.requested_at),
            "requested_by_id": pause.requested_by_id, "started_at": _iso(pause.started_at),
            "ended_at": _iso(pause.ended_at), "credited_days": pause.credited_days,
            "due_before": _iso(pause.due_before), "due_after": _iso(pause.due_after)}


def _rule(session: Session, reason: str, task: HumanTask) -> PauseRule:
    active = session.scalar(select(DictionaryEntry.id).where(
        DictionaryEntry.kind == KIND, DictionaryEntry.code == reason, DictionaryEntry.active.is_(True)))
    rule = session.get(PauseRule, reason) if active else None
    if rule is None:
        raise Invalid("暂停原因无效", {"reason": f"暂停原因无效:{reason}"})
    if rule.steps and task.spec_name not in rule.steps:
        words = dictionary.label(session, KIND, reason)
        raise Invalid(f"「{words}」不适用于「{task.title}」", {"reason": f"「{words}」不适用于「{task.title}」"})
    if task.state != "ready":
        raise Conflict("该任务已办结,不能暂停")
    return rule


def _start(session: Session, platform: Platform, actor: Actor, pause: TaskPause, task: HumanTask,
           now: datetime) -> None:
    if task.state != "ready":
        raise Conflict("该任务已办结,不能暂停")
    pause.state, pause.started_at = "running", now
    task.paused_at = now
    audit.record(session, platform, actor, "task.paused", case_id=pause.case_id,
                 detail={"pause_id": pause.id, "task": task.spec_name, "reason": pause.reason,
                         "due_at": _iso(task.due_at)})


def _pause(session: Session, actor: Actor, pause_id: int) -> tuple[TaskPause, HumanTask]:
    """The pause, if the actor may see its case; NotFound otherwise."""
    pause = session.get(TaskPause, pause_id)
    if pause is None:
        raise NotFound("暂停申请不存在")
    try:
        task, _ = find_task(session, actor, pause.task_id)
    except NotFound as e:
        raise NotFound("暂停申请不存在") from e
    return pause, task


def _above(session: Session, actor: Actor, task: HumanTask) -> bool:
    return scope.unit_in_scope(session, actor, task.unit_id)


def is_paused(session: Session, case: Case) -> bool:
    """Whether any waiting task of the case has its clock stopped."""
    return session.scalar(select(HumanTask.id).where(HumanTask.case_id == case.id, HumanTask.state == "ready",
                                                     HumanTask.paused_at.is_not(None)).limit(1)) is not None


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
