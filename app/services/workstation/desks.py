"""派单 (the dispatcher's desk, with the time limits each 办理方式 would bring) and the leader's desk
(approval queues, units by light, overdue tasks, 督办 by 受理号)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.domain.calendar import CalendarYearMissing
from app.domain.deadlines import due_at
from app.domain.lights import LIGHT_LABELS
from app.errors import Invalid, NotFound
from app.models import Case, HumanTask, Unit
from app.services import cases, escalation, routing, tasks
from app.services.actors import Actor
from app.services.calendar import load_calendar, load_rule
from app.services.platform import Platform
from app.services.scope import visible_cases
from app.services.workstation.display import fmt, labels, masked
from app.services.workstation.workflow_tables import AFTER_DISPATCH, LEADER_QUEUES, MODE_LABELS
from app.services.workstation.worklist import task_rows, worklist_page


def dispatch_previews(platform: Platform, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """Per mode, the steps after 派单 with the time limit their rule gives if dispatched now."""
    now = platform.clock.now()
    with platform.db.reading() as session:
        row = cases.find_case(session, actor, case_id)
        plan = AFTER_DISPATCH.get(row.process_key or "", {})
        calendar = load_calendar(session)
        previews = []
        for mode, steps in plan.items():
            shown = []
            for i, (step, key) in enumerate(steps):
                rule = load_rule(session, key.format(kind=row.kind))
                if i == 0:
                    try:
                        when = f"至 {fmt(due_at(rule, now, calendar))}"
                    except CalendarYearMissing:
                        when = "（工作日历未确认，无法计算）"
                else:
                    when = f"（自{steps[i - 1][0].removeprefix('领导批示后')}之日起算）"
                shown.append({"step": step, "limit": f"{rule.name} {rule.label}", "due": when})
            previews.append({"mode": mode, "label": MODE_LABELS[mode], "steps": shown})
        return previews


def dispatch_desk(platform: Platform, actor: Actor, task_id: str | None) -> dict[str, Any]:
    """派单: the cases waiting at 派单, and for the chosen one its summary, form and the time limits per mode."""
    queue = worklist_page(platform, actor, task="dispatch", per_page=50)
    chosen = task_id or (queue["items"][0]["id"] if queue["items"] else None)
    if chosen is None:
        return {"queue": queue, "task": None}
    task = tasks.get_task(platform, actor, chosen)
    if task["task"] != "dispatch" or not task["may_complete"]:
        raise NotFound("该派单任务不存在或已处理")
    summary = masked(cases.read_case(platform, actor, task["case_id"]))
    with platform.db.reading() as session:
        kinds = labels(session, "kind")
        row = session.get(Case, task["case_id"])
        proposed = routing.proposal(session, row.category, row.area_unit_id, platform.clock.now().date()) \
            if row is not None else None
        area = session.get(Unit, row.area_unit_id) if row is not None and row.area_unit_id else None
    summary["kind_label"] = kinds.get(summary["kind"], summary["kind"])
    summary["area_name"] = area.name if area else ""
    return {"queue": queue, "task": task, "case": summary, "proposal": proposed,
            "previews": dispatch_previews(platform, actor, task["case_id"])}


def proposal_values(proposed: dict[str, Any] | None) -> dict[str, Any] | None:
    """The dispatch form pre-filled from the 派单目录 rule (the dispatcher confirms or changes it)."""
    if proposed is None:
        return None
    assisting = proposed["assisting_unit_ids"]
    return {"dispatch_mode": "co_handle" if assisting else "transfer", "lead_unit_id": proposed["unit_id"],
            "assisting_unit_ids": assisting, "directly_designated": proposed["directly_designated"]}


def supervise_by_number(platform: Platform, actor: Actor, number: str, note: str) -> dict[str, Any]:
    """督办 a case named by its 受理号 (in the actor's scope)."""
    errors = {}
    if not number.strip():
        errors["number"] = "请填写受理号"
    if not note.strip():
        errors["note"] = "请填写督办意见"
    if errors:
        raise Invalid("督办信息不完整", errors)
    with platform.db.reading() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number.strip(), visible_cases(actor)))
    if case_id is None:
        raise Invalid("未找到该受理号的诉求件", {"number": "未找到该受理号的诉求件（或不在您的职责范围内）"})
    return dict(tasks.supervise(platform, actor, case_id, note.strip()), number=number.strip())


def leader_desk(platform: Platform, actor: Actor) -> dict[str, Any]:
    """Approval queues by task, and the units under the leader with counts per light and the overdue list."""
    now = platform.clock.now()
    lit = tasks.light_expr(now).label("light")
    subtree = select(Unit.id).where(Unit.path.startswith(actor.unit_path, autoescape=True))
    in_units = [HumanTask.state == "ready", HumanTask.unit_id.in_(subtree)]
    with platform.db.reading() as session:
        order = [HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id]
        queues = [{"task": spec, "label": label,
                   "items": task_rows(session, platform, [*tasks.workable_by(actor), HumanTask.spec_name == spec],
                                      order, limit=50)}
                  for spec, label in LEADER_QUEUES.items()]
        counts = session.execute(select(Unit.id, Unit.name, Unit.path, lit, func.count())
                                 .select_from(HumanTask).join(Unit, HumanTask.unit_id == Unit.id).where(*in_units)
                                 .group_by(Unit.id, Unit.name, Unit.path, lit)).all()
        units: dict[int, dict[str, Any]] = {}
        for unit_id, name, path, light, n in counts:
            entry = units.setdefault(unit_id, {"name": name, "path": path, **dict.fromkeys(LIGHT_LABELS, 0)})
            entry[light] = n
        overdue = task_rows(session, platform, [*in_units, HumanTask.due_at < now, HumanTask.paused_at.is_(None)],
                            order, limit=100)
        bulletins = escalation.bulletins(session, actor.unit_path)
    overview = sorted(units.values(), key=lambda u: u["path"])
    totals = {k: sum(u[k] for u in overview) for k in LIGHT_LABELS}
    return {"queues": queues, "overview": overview, "totals": totals, "overdue": overdue,
            "overridden": routing.overridden_rules(platform), "bulletins": bulletins}
