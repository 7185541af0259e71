"""The case page: the case with its timeline told in Chinese, related cases and its current tasks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session, lazyload

from app.domain.lights import LIGHT_LABELS
from app.domain.statuses import DICTIONARY_KIND as STATUS_KIND
from app.models import AuditEvent, Case, Requester, Unit, case_assisting_unit
from app.services import attachments, cases, dictionary, intake, knowledge_desk, pauses, scope, screening, tasks
from app.services.actors import Actor
from app.services.platform import Platform
from app.services.scope import visible_cases
from app.services.workstation.display import (
    CATEGORY_KIND,
    format_time,
    labels,
    masked,
    reference_lists,
    status_labels,
)

ACTION_LABELS = {
    "case.registered": "登记", "task.completed": "办理", "case.supervised": "督办",
    "case.personal_data_read": "查看诉求人完整信息", "case.incident": "流程异常",
    "case.incident_retried": "异常件重新执行", "timer.fired": "到时自动流转",
    "task.conflict": "提交未生效(该任务已被他人处理)",
    "case.reclassified": "受理时改变分类",
    "task.pause_requested": "申请暂停计时", "task.pause_approved": "批准暂停计时",
    "task.pause_refused": "不批准暂停计时", "task.paused": "暂停计时", "task.resumed": "恢复计时",
    "escalation.remind": "逾期前催办", "escalation.notice": "发出催办通知书",
    "escalation.supervise": "逾期自动督办并通报",
    "task.refused_own_request": "拒绝审批本人提出的申请（职责分离）",
}


def case_page(platform: Platform, actor: Actor, case_id: int, *, reveal: bool = False) -> dict[str, Any]:
    """Everything the case page shows; personal data masked unless revealed (the reveal is audited).
    One session, and each thing read once: the case, its tasks, its audit trail, its units, the dictionary
    lists it shows (one query), its definition's forms (docs/bench.md counts the statements)."""
    with platform.db.unit_of_work() if reveal else platform.db.reading() as session:
        row = scope.find_case(session, actor, case_id)
        all_units, assisting = _units(session, row.id)  # kept: session.get(Unit, …) below finds them loaded
        units = {u.id: u.name for u in all_units}
        rows = cases.case_rows(session, actor, row)
        # The lists the page shows, in one query; the category tree only when a task form may pick from it.
        dictionary.preload(session, "kind", "channel", STATUS_KIND, pauses.KIND,
                           *([CATEGORY_KIND] if rows.workable else []))
        data = cases.case_view(session, platform, actor, row, reveal=reveal, rows=rows, with_timeline=False)
        events, people = rows.events, rows.people
        if reveal:
            session.commit()
            events = list(session.scalars(select(AuditEvent).where(AuditEvent.case_id == row.id)
                                          .order_by(AuditEvent.id)))  # with the reveal just recorded
            people.setdefault(actor.label, actor.name)
        kinds, channels, statuses = labels(session, "kind"), labels(session, "channel"), status_labels(session)
        forms = tasks.forms_of(session, row.id)
        data.update(kind_label=kinds.get(row.kind, row.kind), channel_label=channels.get(row.channel, row.channel),
                    category_label=(row.category or "").replace("/", " / "), created=format_time(row.created_at),
                    due=format_time(row.due_at), light_label=LIGHT_LABELS.get(data["light"] or "", ""),
                    timeline=_timeline(session, events, people, forms, units, kinds),
                    related=_related(session, actor, row, statuses),
                    assisting_units=[units[i] for i in assisting],
                    location_text=cases.location_text(row, units.get(row.area_unit_id or 0)),
                    attachments=attachments.listed(session, row.id),
                    guard=intake.guard_answer(session, row),
                    knowledge_answer=knowledge_desk.answered_with(session, row.id),
                    flags=screening.flags_of(events),
                    may_reveal=cases.may_see_personal(session, actor, row),
                    **pauses.for_case_page(session, actor, row.id, rows.tasks, rows.workable))
        data["tasks"] = [dict(tasks.task_view(session, platform, actor, t, row, forms,
                                              workable=t.id in rows.workable, events=rows.events),
                              unit=units.get(d["unit_id"], ""),
                              due=format_time(d["due_at"]), light_label=LIGHT_LABELS[d["light"]])
                         for t, d in zip(rows.ready, data["tasks"], strict=True)]
        # The lists the task forms pick from, only when the reader may complete one.
        data["refs"] = reference_lists(session, units=all_units) if any(t["may_complete"] for t in data["tasks"]) \
            else {}
    if not reveal:
        masked(data)
    data["may_supervise"] = actor.can("case.supervise")
    return data


def _units(session: Session, case_id: int) -> tuple[list[Unit], list[int]]:
    """Every unit, and the ids of those assisting the case, in one query."""
    assists = case_assisting_unit.c
    found = session.execute(select(Unit, assists.unit_id.is_not(None))
                            .outerjoin(case_assisting_unit, (assists.unit_id == Unit.id) & (assists.case_id == case_id))
                            .order_by(Unit.id)).all()
    return [u for u, _ in found], [u.id for u, assisting in found if assisting]


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


def _timeline(session: Session, events: list[AuditEvent], people: dict[str, str], forms: dict[str, Any],
              units: dict[int, str], kinds: dict[str, str]) -> list[dict[str, Any]]:
    """Every audited step with who (name and 工号, `people`), when, what in Chinese and what they wrote."""
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
        elif e.action.startswith("task.pause") or e.action in ("task.paused", "task.resumed"):
            notes = _pause_notes(session, detail)
        elif e.action == "case.reclassified":
            notes = _reclassified(kinds, detail)
        elif e.action == "case.registered" and detail.get("duplicate_of"):
            what = "登记（关联为重复件）"
        who = f"{people[e.actor]}（{e.actor}）" if e.actor in people else "系统" if e.actor == "system" else e.actor
        steps.append({"at": format_time(e.at), "who": who, "what": what, "notes": notes})
    return steps


def _pause_notes(session: Session, detail: dict[str, Any]) -> list[tuple[str, str]]:
    """The reason in the dictionary's words, what was written, and on resume how the due date moved."""
    notes = [("原因", labels(session, pauses.KIND).get(str(detail.get("reason")), str(detail.get("reason", ""))))]
    for key, title in (("note", "说明"), ("opinion", "审批意见")):
        if detail.get(key):
            notes.append((title, str(detail[key])))
    if "credited_days" in detail:
        notes.append(("顺延", f"{detail['credited_days']} 个工作日(暂停 {detail.get('paused_working_days')} 个工作日)"))
        notes.append(("到期时间", f"{format_time(detail.get('due_before'))} → {format_time(detail.get('due_after'))}"))
    return notes


def _reclassified(kinds: dict[str, str], detail: dict[str, Any]) -> list[tuple[str, str]]:
    """'诉求类型: 投诉 → 咨询' in the dictionary's words."""
    before, after = detail.get("before") or {}, detail.get("after") or {}
    notes = []
    for field, title in (("kind", "诉求类型"), ("category", "事项分类")):
        if field in after:
            old, new = (str(v or "") for v in (before.get(field), after[field]))
            if field == "kind":
                old, new = kinds.get(old, old), kinds.get(new, new)
            notes.append((title, f"{old} → {new}"))
    return notes


def _related(session: Session, actor: Actor, row: Case, words: dict[str, str]) -> list[dict[str, Any]]:
    """The original this repeats, its own repeats, and the same requester's other cases (visible ones)."""
    req = row.requester
    # Candidates first, each through an index (id, duplicate_of, the requester hashes), then the scope
    # rule on those few (one query: `id IN (… UNION …)`): one OR across tables would scan every visible case.
    parts = [select(Case.id).where(Case.duplicate_of_id == row.id)]
    if row.duplicate_of_id:
        parts.append(select(Case.id).where(Case.id == row.duplicate_of_id))
    for column, value in ((Requester.phone_hash, req.phone_hash), (Requester.id_number_hash, req.id_number_hash)):
        if value:
            parts.append(select(Case.id).join(Requester).where(column == value))
    found = session.scalars(select(Case).where(Case.id.in_(union(*parts)), Case.id != row.id, visible_cases(actor))
                            .order_by(Case.created_at.desc()).limit(20).options(lazyload(Case.requester))).all()
    return [{"id": c.id, "number": c.number, "subject": c.subject, "status": c.status,
             "status_label": words.get(c.status, c.status), "created": format_time(c.created_at),
             "relation": "原件（本件为其重复件）" if c.id == row.duplicate_of_id
             else "重复件" if c.duplicate_of_id == row.id else "同一诉求人"} for c in found]
