"""The written notices to the requester (受理/不予受理告知书, 延期告知书, 信访处理意见书, 复查/复核意见书):
what each prints, read from the step it follows in the audit trail, and their 送达 (how and when each
reached the requester), recorded as `document.served`. Numbering and download are app/services/documents.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents import KINDS, DocumentKind
from app.domain.notices import NOTICE_STEPS, SERVE_METHOD_KIND
from app.errors import Conflict, Invalid, NotFound, NotPermitted
from app.models import AuditEvent, Case, CaseDeadline
from app.services import audit, scope
from app.services.actors import Actor
from app.services.calendar import load_rule
from app.services.dictionary import label, labels
from app.services.platform import Platform
from app.services.process import lock_case

ISSUED = "document.issued"
SERVED = "document.served"
SERVERS = ("case.create", "case.dispatch", "case.handle")  # the desks that send notices out


def _completed(session: Session, case_id: int, task: str) -> list[dict[str, Any]]:
    """The answers of each completion of `task` on the case, oldest first."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                      AuditEvent.action == "task.completed")
                             .order_by(AuditEvent.id))
    return [{**(e.detail.get("data") or {}), "_at": e.at} for e in events if e.detail.get("task") == task]


def facts(session: Session, case: Case, kind: DocumentKind) -> dict[str, Any]:
    """What the notice states, from the step it follows; Conflict (no number drawn) before that step."""
    step = NOTICE_STEPS[kind.key]
    done = [d for d in _completed(session, case.id, step.task) if step.field is None or d.get(step.field) == step.value]
    if not done:
        raise Conflict(f"该诉求件尚无可出具{kind.title}的办理结果")
    answer = done[-1]
    outcome = step.fixed_outcome or label(session, step.outcome_kind or "", str(answer.get(step.outcome_field or "")))
    found: dict[str, Any] = {"article": step.article, "outcome": outcome, "decided": _date(answer["_at"])}
    if kind.key == "rejection_notice":
        accepted = [d for d in _completed(session, case.id, "accept") if d.get("accept_decision") == "reject"]
        last = accepted[-1] if accepted else {}
        found["grounds"] = label(session, "reject_reason", str(last.get("rejection_reason") or ""))
        found["note"] = str(last.get("rejection_note") or answer.get("approval_opinion") or "")
    elif kind.key == "extension_notice":
        asked = [d for d in _completed(session, case.id, "handle") if d.get("handle_action") == "extend"]
        found["reason"] = str((asked[-1] if asked else {}).get("extension_reason") or "")
        found["days"] = answer.get("approved_extension_days")
        period = session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id,
                                                            CaseDeadline.extended_by > 0)).first()
        found["due_date"] = _date(period.due_at) if period else ""
    elif kind.key == "handling_opinion":
        handled = [d for d in _completed(session, case.id, "handle") if d.get("handle_action") == "reply"]
        found["facts"] = str((handled[-1] if handled else {}).get("handling_notes") or "")
        found["opinion"] = str(answer.get("reply_opinion") or "")
        found["basis"] = str(answer.get("reply_basis") or "")
        found["next"] = _next_step(session, "petition.review_request", "复查", "原办理机关的上一级机关", "第三十五条")
    elif kind.key == "review_opinion":
        found["opinion"] = str(answer.get("review_opinion") or "")
        found["next"] = _next_step(session, "petition.re_review_request", "复核", "复查机关的上一级机关", "第三十六条")
    else:
        found["opinion"] = str(answer.get("re_review_opinion") or "")
        found["next"] = ("本复核意见为终结意见。信访人对复核意见不服，仍然以同一事实和理由提出信访的，"
                         "不再受理（《信访工作条例》第三十六条）。")
    return found


def _next_step(session: Session, rule_key: str, what: str, where: str, article: str) -> str:
    """How to contest the answer and by when, from the rule table (the period is the administrators')."""
    try:
        rule = load_rule(session, rule_key)
        period = f"{rule.amount}日" if rule.unit == "calendar_day" else f"{rule.amount}个工作日"
    except NotFound:
        period = "30日"
    return (f"信访人对本意见不服的，可以自收到本意见书之日起{period}内，向{where}请求{what}"
            f"（《信访工作条例》{article}）。")


def context(session: Session, case: Case, kind: DocumentKind, issued: dict[str, Any], issuing_unit: str,
            requester: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """Everything the notice template prints."""
    return {"kind": kind.key, "kind_title": kind.title, "number": issued["number"], "issuing_unit": issuing_unit,
            "issued_date": _date(issued["issued_at"]), "requester": requester, "notice": found,
            "case": {"number": case.number, "query_code": case.query_code, "subject": case.subject,
                     "content": case.content, "registered": _date(case.created_at),
                     "channel": label(session, "channel", case.channel)}}


def serve(platform: Platform, actor: Actor, case_id: int, kind: str, method: str,
          served_at: datetime | None = None) -> dict[str, Any]:
    """Record that an issued notice reached the requester (送达): how, when, by whom; audited."""
    doc_kind = KINDS.get(kind)
    if doc_kind is None or not doc_kind.to_requester:
        raise NotFound("文书类型不存在")
    if not any(actor.can(p) for p in SERVERS):
        raise NotPermitted("没有登记送达的权限")
    with platform.db.unit_of_work() as session:
        scope.find_case(session, actor, case_id)
        case = lock_case(session, case_id)
        if method not in labels(session, SERVE_METHOD_KIND):
            raise Invalid("送达方式无效", {"method": "送达方式无效"})
        issued = next((d for d in documents_of(session, case.id) if d["kind"] == kind), None)
        if issued is None:
            raise Conflict(f"{doc_kind.title}尚未出具,不能登记送达")
        now = platform.clock.now()
        at = served_at or now
        if at > now or at < datetime.fromisoformat(issued["issued_at"]):
            raise Invalid("送达时间应在出具之后、当前时间之前", {"served_at": "送达时间应在出具之后、当前时间之前"})
        audit.record(session, platform, actor, SERVED, case_id=case.id,
                     detail={"kind": kind, "number": issued["number"], "method": method,
                             "served_at": at.isoformat()})
        session.commit()
        return {**issued, "served_at": at.isoformat(), "served_by": actor.label, "method": method}


def documents_of(session: Session, case_id: int,
                 events: Sequence[AuditEvent] | None = None) -> list[dict[str, Any]]:
    """Every document issued for the case with its 送达 (the latest recorded), oldest first (`events`: every
    audit row of the case, oldest first, if the caller has read them)."""
    if events is None:
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                          AuditEvent.action.in_((ISSUED, SERVED)))
                                 .order_by(AuditEvent.id)).all()
    found: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.action not in (ISSUED, SERVED):
            continue
        number = str(e.detail.get("number"))
        if e.action == ISSUED:
            found[number] = {"kind": e.detail.get("kind"), "number": number, "issued_at": e.at.isoformat(),
                             "served_at": None, "served_by": None, "method": None}
        elif number in found:
            found[number] |= {"served_at": e.detail.get("served_at"), "served_by": e.actor,
                              "method": e.detail.get("method")}
    return list(found.values())


def _date(at: date | datetime) -> str:
    return f"{at.year}年{at.month}月{at.day}日"
