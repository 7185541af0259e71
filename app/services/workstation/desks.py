"""派单 (the dispatcher's desk, with the time limits each 办理方式 would bring) and the leader's desk
(approval queues, units by light, overdue tasks, 督办 by 受理号). What the steps are comes from the deployed
definition (services.steps), never from a table here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.calendar import CalendarYearMissing
from app.domain.deadlines import due_at
from app.domain.lights import LIGHT_LABELS
from app.errors import Invalid, NotFound
from app.models import Case, HumanTask, Unit
from app.services import cases, escalation, routing, scope, steps, tasks
from app.services.actors import Actor, require
from app.services.calendar import load_calendar, load_rule, load_rules
from app.services.platform import Platform
from app.services.units import every_unit
from app.services.workstation.display import format_time, labels, masked, reference_lists
from app.services.workstation.worklist import task_rows, worklist_of

DISPATCH_STEP = "dispatch"  # the 派单 user task (BPMN id) and the form field whose value picks the path
MODE_FIELD = "dispatch_mode"


def dispatch_previews(platform: Platform, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """Per 办理方式 (the dispatch form's choices), the steps its path reaches in the case's deployed definition,
    with the time limit each one's rule gives if dispatched now."""
    with platform.db.reading() as session:
        return previews(session, platform, scope.find_case(session, actor, case_id))


def previews(session: Session, platform: Platform, row: Case) -> list[dict[str, Any]]:
    """dispatch_previews in the caller's session, for a case already found."""
    now = platform.clock.now()
    described = steps.for_case(session, row)
    if described is None or DISPATCH_STEP not in described.steps:
        return []
    calendar = load_calendar(session)
    rules = load_rules(session)  # every rule in one query, not one per step
    data = {"kind": row.kind, "category": row.category, "channel": row.channel}
    shown_modes = []
    for mode, label in dispatch_modes(described.steps[DISPATCH_STEP].form_schema).items():
        path = described.path_after(DISPATCH_STEP, MODE_FIELD, mode)
        shown = []
        for i, step in enumerate(path):
            key = described.rule_key(step.step, data)
            if key is None:
                declared = step.deadline_rule or step.deadline_rule_expression
                shown.append({"step": step.title, "limit": "派单后按流程确定" if declared else "不计时限",
                              "due": "—"})
                continue
            rule = rules.get(key) or load_rule(session, key)  # an unknown key: load_rule's NotFound
            if i == 0:
                try:
                    when = f"至 {format_time(due_at(rule, now, calendar))}"
                except CalendarYearMissing:
                    when = "（工作日历未确认，无法计算）"
            else:
                when = f"（自{path[i - 1].title}之日起算）"
            shown.append({"step": step.title, "limit": f"{rule.name} {rule.label}", "due": when})
        shown_modes.append({"mode": mode, "label": label, "steps": shown})
    return shown_modes


def dispatch_modes(form: dict[str, Any]) -> dict[str, str]:
    """The 办理方式 choices (code → label) the deployed dispatch form offers."""
    field = (form.get("properties") or {}).get(MODE_FIELD) or {}
    return {str(o["const"]): str(o.get("title") or o["const"]) for o in field.get("oneOf", []) if "const" in o}


def dispatch_desk(platform: Platform, actor: Actor, task_id: str | None) -> dict[str, Any]:
    """派单: the cases waiting at 派单, and for the chosen one its summary, form and the time limits per mode;
    with the lists its form picks from (`refs`). One session for the page."""
    require(actor, "case.dispatch")
    with platform.db.reading() as session:
        queue = worklist_of(session, platform, actor, task="dispatch", per_page=50)
        refs = reference_lists(session, units=every_unit(session))
        chosen = task_id or (queue["items"][0]["id"] if queue["items"] else None)
        if chosen is None:
            return {"queue": queue, "task": None, "refs": refs}
        found, row = tasks.find_task(session, actor, chosen)
        rows = cases.case_rows(session, actor, row)
        task = tasks.task_view(session, platform, actor, found, row, tasks.forms_of(session, row.id),
                               workable=found.id in rows.workable, events=rows.events)
        if task["task"] != "dispatch" or not task["may_complete"]:
            raise NotFound("该派单任务不存在或已处理")
        summary = masked(cases.case_view(session, platform, actor, row, rows=rows))
        kinds = labels(session, "kind")
        proposed = routing.proposal(session, row.category, row.area_unit_id, platform.clock.now().date())
        area = session.get(Unit, row.area_unit_id) if row.area_unit_id else None
        summary["kind_label"] = kinds.get(summary["kind"], summary["kind"])
        summary["area_name"] = area.name if area else ""
        return {"queue": queue, "task": task, "case": summary, "proposal": proposed,
                "previews": previews(session, platform, row), "refs": refs}


def proposal_values(proposed: dict[str, Any] | None) -> dict[str, Any] | None:
    """The dispatch form pre-filled from the 派单目录 rule (the dispatcher confirms or changes it)."""
    if proposed is None:
        return None
    assisting = proposed["assisting_unit_ids"]
    values = {"dispatch_mode": "co_handle" if assisting else "transfer", "lead_unit_id": proposed["unit_id"],
              "assisting_unit_ids": assisting, "directly_designated": proposed["directly_designated"]}
    if proposed.get("final_unit_id"):  # 经区县转派: the district reads which unit the catalogue means
        values["dispatch_note"] = proposed["note"]
    return values


def supervise_by_number(platform: Platform, actor: Actor, number: str, note: str) -> dict[str, Any]:
    """督办 a case named by its 受理号 (in the actor's scope)."""
    require(actor, "case.supervise")
    errors = {}
    if not number.strip():
        errors["number"] = "请填写受理号"
    if not note.strip():
        errors["note"] = "请填写督办意见"
    if errors:
        raise Invalid("督办信息不完整", errors)
    with platform.db.reading() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number.strip(), scope.visible_cases(actor)))
    if case_id is None:
        raise Invalid("未找到该受理号的诉求件", {"number": "未找到该受理号的诉求件（或不在您的职责范围内）"})
    return dict(tasks.supervise(platform, actor, case_id, note.strip()), number=number.strip())


def leader_desk(platform: Platform, actor: Actor) -> dict[str, Any]:
    """Approval queues by task, and the units under the leader with counts per light and the overdue list."""
    require(actor, "case.approve")
    now = platform.clock.now()
    lit = tasks.light_expr(now).label("light")
    in_units = [tasks.READY, scope.in_scope(actor, HumanTask.unit_id)]  # seen, not worked
    with platform.db.reading() as session:  # one session for the page
        order = [HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id]
        queues = [{"task": spec, "label": label,
                   "items": task_rows(session, platform, [*tasks.workable_by(actor), HumanTask.spec_name == spec],
                                      order, limit=50)}
                  for spec, label in steps.leader_queues(session).items()]
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
        overridden = routing.overridden_rules(session)
    overview = sorted(units.values(), key=lambda u: u["path"])
    totals = {k: sum(u[k] for u in overview) for k in LIGHT_LABELS}
    return {"queues": queues, "overview": overview, "totals": totals, "overdue": overdue,
            "overridden": overridden, "bulletins": bulletins}
