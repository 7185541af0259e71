"""Reads and writes behind the workstation pages (worklist, case page, intake, dispatch, leader desk).

Plain service functions, no Flask: the pages get dicts ready to render, with Chinese labels, masked
personal data and lights worked out here. Writes go through the use cases in intake and tasks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from app.domain.calendar import CalendarYearMissing, WorkCalendar
from app.domain.deadlines import due_at
from app.domain.identity import InvalidIdNumber, InvalidPhone, normalise_id_number, normalise_phone
from app.domain.masking import mask_address, mask_name
from app.domain.roles import ROLES
from app.errors import Invalid, NotFound
from app.models import (
    AuditEvent,
    Case,
    DictionaryEntry,
    HumanTask,
    ProcessDefinition,
    Requester,
    Unit,
    User,
    WorkflowState,
)
from app.services import cases, intake, tasks
from app.services.actors import Actor
from app.services.calendar import load_calendar, load_rule
from app.services.cases import RequesterInput, task_light, worst_light
from app.services.platform import Platform
from app.services.scope import visible_cases
from app.services.settings import get_setting

LIGHT_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
MODE_LABELS = {"self_handle": "自办", "transfer": "转送", "assign": "交办", "co_handle": "协办"}
LEADER_QUEUES = {"approve_extension": "延期审批", "approve_rejection": "不予受理审批",
                 "review_return": "退回审核", "instruct": "交办批示"}
LANE_NAME = re.compile(r'(<(?:\w+:)?lane\b[^>]*?\bname=")([^"]*)(")')
PINNED_TASK = "supervision_feedback"  # 督办反馈: a leader is waiting, so it tops the worklist
ACTION_LABELS = {
    "case.registered": "登记", "task.completed": "办理", "case.supervised": "督办",
    "case.personal_data_read": "查看诉求人完整信息", "case.incident": "流程异常",
    "case.incident_retried": "异常件重新执行", "timer.fired": "到时自动流转",
}
# What the first timed step after 派单 is, per process and mode (see workflows/*.bpmn): (step, rule key).
# '{kind}' is the case's kind. The handling period starts when the unit signs for the case.
AFTER_DISPATCH: dict[str, dict[str, list[tuple[str, str]]]] = {
    "hotline_order": {
        "self_handle": [("办理", "hotline.{kind}")],
        "transfer": [("签收", "hotline.accept"), ("办理", "hotline.{kind}")],
        "assign": [("领导批示后签收", "hotline.accept"), ("办理", "hotline.{kind}")],
        "co_handle": [("签收", "hotline.accept"), ("办理", "hotline.{kind}")],
    },
    "petition": {
        "self_handle": [("办理", "petition.handle")],
        "transfer": [("签收", "petition.objection"), ("办理", "petition.handle")],
        "assign": [("领导批示后签收", "petition.objection"), ("办理", "petition.handle")],
        "co_handle": [("签收", "petition.objection"), ("办理", "petition.handle")],
    },
}


def fmt(at: datetime | str | None) -> str:
    """'2026-11-26 23:59' — minutes are enough for a deadline."""
    if at is None:
        return ""
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return value.strftime("%Y-%m-%d %H:%M")


# ---- reference lists ---------------------------------------------------------------------------

def labels(session: Session, kind: str) -> dict[str, str]:
    """code → label of one dictionary list, in its order."""
    rows = session.execute(select(DictionaryEntry.code, DictionaryEntry.label)
                           .where(DictionaryEntry.kind == kind, DictionaryEntry.active.is_(True))
                           .order_by(DictionaryEntry.sort, DictionaryEntry.id))
    return {code: label for code, label in rows}


def category_tree(session: Session) -> list[dict[str, Any]]:
    """The category tree as groups of choosable leaves: [{code, label, children: [{code, label}]}]."""
    rows = session.scalars(select(DictionaryEntry).where(DictionaryEntry.kind == "category",
                                                         DictionaryEntry.active.is_(True))
                           .order_by(DictionaryEntry.sort, DictionaryEntry.id)).all()
    children: dict[int | None, list[DictionaryEntry]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)

    def leaves(node: DictionaryEntry, prefix: str) -> list[dict[str, str]]:
        below = children.get(node.id, [])
        if not below:
            return [{"code": node.code, "label": prefix + node.label}]
        return [leaf for child in below for leaf in leaves(child, prefix + node.label + " / " if prefix else "")]

    return [{"code": top.code, "label": top.label, "children": leaves(top, "")} for top in children.get(None, [])]


def unit_tree(session: Session) -> list[dict[str, Any]]:
    """Every active unit in tree order with its depth, for pickers."""
    units = session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.id)).all()
    below: dict[int | None, list[Unit]] = {}
    for u in units:
        below.setdefault(u.parent_id, []).append(u)
    known = {u.id for u in units}
    ordered: list[dict[str, Any]] = []

    def walk(unit: Unit, depth: int) -> None:  # by path text '/1/10/' would sort before '/1/2/'
        ordered.append({"id": unit.id, "name": unit.name, "depth": depth})
        for child in below.get(unit.id, []):
            walk(child, depth + 1)

    for top in [u for u in units if u.parent_id not in known]:
        walk(top, 0)
    return ordered


def reference(platform: Platform) -> dict[str, Any]:
    """The lists a form may need: kinds, channels, the category tree and the unit tree."""
    with platform.db.reading() as session:
        return {"kinds": labels(session, "kind"), "channels": labels(session, "channel"),
                "categories": category_tree(session), "units": unit_tree(session)}


# ---- worklist ----------------------------------------------------------------------------------

def remaining(calendar: WorkCalendar, now: datetime, due: datetime | None) -> str:
    """'剩余 3 个工作日', '今日到期' or '已逾期 2 个工作日' (working days, from the calendar)."""
    if due is None:
        return "无时限"
    try:
        if due < now:
            late = calendar.working_days_between(due.date(), now.date())
            return f"已逾期 {late} 个工作日" if late else "已逾期"
        left = calendar.working_days_between(now.date(), due.date())
    except CalendarYearMissing:
        return "日历未确认"
    return f"剩余 {left} 个工作日" if left else "今日到期"


def _task_rows(session: Session, platform: Platform, where: list[Any], order: list[Any], *,
               limit: int, offset: int = 0) -> list[dict[str, Any]]:
    now = platform.clock.now()
    lit = tasks.light_expr(now).label("light")
    kinds = labels(session, "kind")
    calendar = load_calendar(session)
    rows = session.execute(select(HumanTask, Case, Requester.name, Unit.name, lit)
                           .join(Case, HumanTask.case_id == Case.id)
                           .join(Requester, Case.requester_id == Requester.id)
                           .outerjoin(Unit, HumanTask.unit_id == Unit.id)
                           .where(*where).order_by(*order).limit(limit).offset(offset)).all()
    return [{"id": t.id, "case_id": c.id, "case_number": c.number, "title": t.title, "task": t.spec_name,
             "kind": kinds.get(c.kind, c.kind), "subject": c.subject, "status": c.status,
             "requester": mask_name(name or ""), "unit": unit or "", "light": light,
             "light_label": LIGHT_LABELS[light], "due_at": fmt(t.due_at),
             "remaining": remaining(calendar, now, t.due_at), "pinned": t.spec_name == PINNED_TASK}
            for t, c, name, unit, light in rows]


def worklist_page(platform: Platform, actor: Actor, *, light: str | None = None, kind: str | None = None,
                  task: str | None = None, page: int = 1, per_page: int = 20,
                  descending: bool = False) -> dict[str, Any]:
    """我的待办:督办反馈 pinned first, then by due time; counts per light over all of the actor's tasks."""
    now = platform.clock.now()
    lit = tasks.light_expr(now).label("light")
    with platform.db.reading() as session:
        where = tasks.workable_by(actor)
        counts = {lt: n for lt, n in session.execute(select(lit, func.count()).select_from(HumanTask)
                                                     .where(*where).group_by(lit))}
        choices = {spec: title for spec, title in session.execute(
            select(HumanTask.spec_name, func.min(HumanTask.title)).where(*where).group_by(HumanTask.spec_name))}
        if kind:
            where.append(Case.kind == kind)
        if task:
            where.append(HumanTask.spec_name == task)
        if light in LIGHT_LABELS:
            where.append(tasks.light_expr(now) == light)
        total = session.scalar(select(func.count()).select_from(HumanTask).join(Case).where(*where)) or 0
        due = HumanTask.due_at.desc() if descending else HumanTask.due_at
        order = [case((HumanTask.spec_name == PINNED_TASK, 0), else_=1), HumanTask.due_at.is_(None), due,
                 HumanTask.created_at, HumanTask.id]
        pages = max(1, math.ceil(total / per_page))
        page = min(max(page, 1), pages)
        items = _task_rows(session, platform, where, order, limit=per_page, offset=(page - 1) * per_page)
        return {"items": items, "total": total, "page": page, "pages": pages,
                "counts": {k: counts.get(k, 0) for k in LIGHT_LABELS}, "kinds": labels(session, "kind"),
                "tasks": dict(sorted(choices.items()))}


# ---- the case page -----------------------------------------------------------------------------

def case_page(platform: Platform, actor: Actor, case_id: int, *, reveal: bool = False) -> dict[str, Any]:
    """Everything the case page shows; personal data masked unless revealed (the reveal is audited)."""
    data = cases.read_case(platform, actor, case_id, reveal=reveal)
    with platform.db.reading() as session:
        row = cases.find_case(session, actor, case_id)
        kinds, channels = labels(session, "kind"), labels(session, "channel")
        forms = _forms_of(session, row)
        data.update(kind_label=kinds.get(row.kind, row.kind), channel_label=channels.get(row.channel, row.channel),
                    category_label=(row.category or "").replace("/", " / "), created=fmt(row.created_at),
                    due=fmt(row.due_at), light_label=LIGHT_LABELS.get(data["light"] or "", ""),
                    timeline=_timeline(session, row.id, forms), related=_related(session, actor, row),
                    assisting_units=[u.name for u in row.assisting_units])
        units = {u.id: u.name for u in session.scalars(select(Unit))}
    if not reveal:
        _masked(data)
    data["tasks"] = [dict(tasks.get_task(platform, actor, t["id"]), unit=units.get(t["unit_id"], ""),
                          due=fmt(t["due_at"]), light_label=LIGHT_LABELS[t["light"]]) for t in data["tasks"]]
    data["may_reveal"] = actor.can("case.read_personal")
    data["may_supervise"] = actor.can("case.supervise")
    return data


def _forms_of(session: Session, row: Case) -> dict[str, Any]:
    state = session.get(WorkflowState, row.id)
    definition = session.get(ProcessDefinition, state.definition_id) if state else None
    return json.loads(definition.forms_json) if definition else {}


def _field_names(forms: dict[str, Any]) -> dict[str, tuple[str, dict[str, str]]]:
    """field → (title, {value: label}) over every form of the process, to describe answers in Chinese."""
    names: dict[str, tuple[str, dict[str, str]]] = {}
    for schema in forms.values():
        for field, prop in (schema.get("properties") or {}).items():
            choices = {str(o.get("const")): str(o.get("title")) for o in prop.get("oneOf", []) if "const" in o}
            names.setdefault(field, (str(prop.get("title") or field), choices))
    return names


def _describe(answers: dict[str, Any], names: dict[str, tuple[str, dict[str, str]]],
              units: dict[int, str]) -> list[tuple[str, str]]:
    described = []
    for field, value in answers.items():
        if value in (None, "", []):
            continue
        title, choices = names.get(field, (field, {}))
        if isinstance(value, bool):
            text = "是" if value else "否"
        elif field.endswith("unit_id") and isinstance(value, int):
            text = units.get(value, str(value))
        elif field.endswith("unit_ids") and isinstance(value, list):
            text = "、".join(units.get(v, str(v)) for v in value)
        else:
            text = choices.get(str(value), str(value))
        described.append((title, text))
    return described


def _timeline(session: Session, case_id: int, forms: dict[str, Any]) -> list[dict[str, Any]]:
    """Every audited step with who (name and 工号), when, what in Chinese and what they wrote."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)).all()
    people = {no: name for no, name in session.execute(select(User.staff_no, User.name)
                                                        .where(User.staff_no.in_({e.actor for e in events})))}
    units = {u.id: u.name for u in session.scalars(select(Unit))}
    names = _field_names(forms)
    steps = []
    for e in events:
        detail = e.detail or {}
        what = ACTION_LABELS.get(e.action, "系统记录")
        notes: list[tuple[str, str]] = []
        if e.action == "task.completed":
            what = f"完成「{detail.get('title') or detail.get('task')}」"
            notes = _describe(detail.get("data") or {}, names, units)
        elif e.action == "case.supervised":
            notes = [("督办意见", str(detail.get("note", "")))]
        elif e.action == "case.registered" and detail.get("duplicate_of"):
            what = "登记（关联为重复件）"
        who = f"{people[e.actor]}（{e.actor}）" if e.actor in people else "系统" if e.actor == "system" else e.actor
        steps.append({"at": fmt(e.at), "who": who, "what": what, "notes": notes})
    return steps


def _related(session: Session, actor: Actor, row: Case) -> list[dict[str, Any]]:
    """The original this repeats, its own repeats, and the same requester's other cases (visible ones)."""
    req = row.requester
    same_person = [h for h in ((Requester.phone_hash, req.phone_hash), (Requester.id_number_hash, req.id_number_hash))
                   if h[1]]
    clauses = [Case.id == row.duplicate_of_id, Case.duplicate_of_id == row.id]
    clauses += [column == value for column, value in same_person]
    found = session.scalars(select(Case).join(Requester).where(or_(*clauses), Case.id != row.id, visible_cases(actor))
                            .order_by(Case.created_at.desc()).limit(20)).all()
    return [{"id": c.id, "number": c.number, "subject": c.subject, "status": c.status, "created": fmt(c.created_at),
             "relation": "原件（本件为其重复件）" if c.id == row.duplicate_of_id
             else "重复件" if c.duplicate_of_id == row.id else "同一诉求人"} for c in found]


def case_diagram(platform: Platform, actor: Actor, case_id: int) -> dict[str, Any]:
    """The case's BPMN (the version it runs on) and the diagram elements of its current steps."""
    with platform.db.reading() as session:
        row = cases.find_case(session, actor, case_id)
        state = session.get(WorkflowState, row.id)
        definition = session.get(ProcessDefinition, state.definition_id) if state else None
        if definition is None:
            raise NotFound("该诉求件没有流程")
        ready = session.scalars(select(HumanTask.spec_name).where(HumanTask.case_id == row.id,
                                                                  HumanTask.state == "ready")).all()
        xml = _lanes_in_chinese(definition.bpmn_xml)
        shown = {_shown_element(definition.spec_json, xml, name) for name in ready}
        active = sorted(e for e in shown if e is not None)
        return {"xml": xml, "active": active, "has_di": "BPMNShape" in xml, "name": definition.name,
                "version": definition.version}


def _lanes_in_chinese(xml: str) -> str:
    """Lanes are named by role code (the BPMN convention); readers see the role's Chinese name."""
    return LANE_NAME.sub(lambda m: m.group(1) + ROLES.get(m.group(2), m.group(2)) + m.group(3), xml)


def _shown_element(spec_json: str, xml: str, name: str) -> str | None:
    """The element to highlight for a task: itself, or the call activity that runs the process holding it.

    Reads the engine's serialized spec (spec + subprocess_specs, each with task_specs) only as JSON."""
    spec = json.loads(spec_json)
    processes = {"": spec.get("spec", {}), **spec.get("subprocess_specs", {})}
    caller = {t["spec"]: n for p in processes.values() for n, t in p.get("task_specs", {}).items() if t.get("spec")}
    holder = {n: pid for pid, p in processes.items() for n in p.get("task_specs", {})}
    current: str | None = name
    for _ in range(10):
        if current is None or f'bpmnElement="{current}"' in xml:
            return current
        current = caller.get(holder.get(current, ""))
    return None


# ---- intake ------------------------------------------------------------------------------------

def check_requester(name: str, phone: str, id_number: str, today: datetime) -> dict[str, str]:
    """Chinese messages keyed by field for a requester's name, phone and 身份证号 (empty when all fit)."""
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "请填写诉求人姓名"
    if phone.strip():
        try:
            normalise_phone(phone)
        except InvalidPhone as e:
            errors["phone"] = str(e)
    if id_number.strip():
        try:
            normalise_id_number(id_number, today=today.date())
        except InvalidIdNumber as e:
            errors["id_number"] = str(e)
    return errors


def register_from_form(platform: Platform, actor: Actor, form: dict[str, str], key: str | None) -> dict[str, Any]:
    """Check the intake form field by field, then register; Invalid carries {field: Chinese message}."""
    text = {k: (form.get(k) or "").strip() for k in ("kind", "channel", "category", "name", "phone", "id_number",
                                                     "address", "subject", "content", "duplicate_of")}
    with platform.db.reading() as session:
        kinds, channels = labels(session, "kind"), labels(session, "channel")
        leaves = {leaf["code"] for group in category_tree(session) for leaf in group["children"]}
    errors = check_requester(text["name"], text["phone"], text["id_number"], platform.clock.now())
    if text["kind"] not in kinds:
        errors["kind"] = "请选择诉求类型"
    if text["channel"] not in channels:
        errors["channel"] = "请选择来源渠道"
    if text["category"] and text["category"] not in leaves:
        errors["category"] = "请从事项分类中选择"
    for field, title, most in (("subject", "诉求标题", 200), ("content", "诉求内容", 20000), ("name", "姓名", 60),
                               ("address", "地址", 200)):
        if field in ("subject", "content") and not text[field]:
            errors[field] = f"请填写{title}"
        elif len(text[field]) > most:
            errors[field] = f"{title}最多 {most} 个字"
    if text["duplicate_of"] and not text["duplicate_of"].isdigit():
        errors["duplicate_of"] = "重复件关联无效"
    if errors:
        raise Invalid("登记信息有误，请按提示修改", errors)
    data = intake.CaseInput(
        kind=text["kind"], channel=text["channel"], category=text["category"] or None, subject=text["subject"],
        content=text["content"], duplicate_of=int(text["duplicate_of"]) if text["duplicate_of"] else None,
        requester=RequesterInput(name=text["name"], phone=text["phone"] or None,
                                 id_number=text["id_number"] or None, address=text["address"] or None))
    try:
        return intake.register_case(platform, actor, data, key)
    except Invalid as e:
        raise Invalid(e.message, {k.removeprefix("requester."): v for k, v in e.details.items()}) from e


def duplicate_hint(platform: Platform, actor: Actor, phone: str, id_number: str) -> dict[str, Any]:
    """The same requester's cases of the last N days (setting dedupe.lookback_days) the actor may see."""
    errors = check_requester("-", phone, id_number, platform.clock.now())
    if errors or not (phone.strip() or id_number.strip()):
        return {"items": [], "errors": errors, "days": 0}
    now = platform.clock.now()
    with platform.db.reading() as session:
        days = int(get_setting(session, "dedupe.lookback_days"))
        earlier = intake.earlier_cases_of(session, platform, RequesterInput(name="-", phone=phone.strip() or None,
                                                                            id_number=id_number.strip() or None), days)
        visible = set(session.scalars(select(Case.id).where(Case.id.in_([c.id for c in earlier]),
                                                            visible_cases(actor))))
        lights = _case_lights(session, visible, now)
        items = [{"id": c.id, "number": c.number, "subject": c.subject, "status": c.status,
                  "created": fmt(c.created_at), "light": lights.get(c.id),
                  "light_label": LIGHT_LABELS.get(lights.get(c.id) or "", "无")}
                 for c in earlier if c.id in visible]
    return {"items": items, "errors": {}, "days": days}


def _case_lights(session: Session, case_ids: Iterable[int], now: datetime) -> dict[int, str | None]:
    ready = session.scalars(select(HumanTask).where(HumanTask.case_id.in_(list(case_ids)),
                                                    HumanTask.state == "ready")).all()
    by_case: dict[int, list[str]] = {}
    for t in ready:
        by_case.setdefault(t.case_id, []).append(task_light(t, now))
    return {cid: worst_light(found) for cid, found in by_case.items()}


# ---- dispatch and the leader's desk ----------------------------------------------------------------

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
    summary = _masked(cases.read_case(platform, actor, task["case_id"]))
    with platform.db.reading() as session:
        kinds = labels(session, "kind")
    summary["kind_label"] = kinds.get(summary["kind"], summary["kind"])
    return {"queue": queue, "task": task, "case": summary,
            "previews": dispatch_previews(platform, actor, task["case_id"])}


def _masked(data: dict[str, Any]) -> dict[str, Any]:
    person = data["requester"]
    person["name"] = mask_name(person["name"] or "")
    person["address"] = mask_address(person["address"]) if person["address"] else None
    return data


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
                   "items": _task_rows(session, platform, [*tasks.workable_by(actor), HumanTask.spec_name == spec],
                                       order, limit=50)}
                  for spec, label in LEADER_QUEUES.items()]
        counts = session.execute(select(Unit.id, Unit.name, Unit.path, lit, func.count())
                                 .select_from(HumanTask).join(Unit, HumanTask.unit_id == Unit.id).where(*in_units)
                                 .group_by(Unit.id, Unit.name, Unit.path, lit)).all()
        units: dict[int, dict[str, Any]] = {}
        for unit_id, name, path, light, n in counts:
            entry = units.setdefault(unit_id, {"name": name, "path": path, "green": 0, "yellow": 0, "red": 0})
            entry[light] = n
        overdue = _task_rows(session, platform, [*in_units, HumanTask.due_at < now], order, limit=100)
    overview = sorted(units.values(), key=lambda u: u["path"])
    totals = {k: sum(u[k] for u in overview) for k in LIGHT_LABELS}
    return {"queues": queues, "overview": overview, "totals": totals, "overdue": overdue}
