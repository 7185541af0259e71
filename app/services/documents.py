"""Printed documents for a case: a 文号 issued once per case, kind and receiving unit, every download audited.

The number is drawn from a gap-free counter per kind, issuing unit and year in the same transaction as
the `document.issued` audit row that stores it; a later download finds that row and prints the same
number and date. The case row is locked first, so two first downloads at once still draw one number.
The PDF is rendered after the commit: rendering never holds the case lock or the audit chain lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents import KINDS, DocumentKind, PdfRenderer, counter_name, format_number, short_name
from app.documents.renderer import default_renderer
from app.errors import Conflict, NotFound
from app.models import AuditEvent, Case, CaseDeadline, DictionaryEntry, HumanTask, TaskEscalation, Unit, User
from app.services import attachments, audit, notices
from app.services.actors import Actor
from app.services.calendar import load_rule
from app.services.cases import accuser_protected, location_text, may_see_personal, requester_view
from app.services.counters import next_value
from app.services.platform import Platform
from app.services.process import lock_case
from app.services.scope import find_case
from app.services.settings import get_setting

ISSUED = "document.issued"
DOWNLOADED = "document.downloaded"


@dataclass(frozen=True)
class IssuedDocument:
    """A numbered document of a case and what its template prints."""

    kind: DocumentKind
    number: str
    case_number: str
    context: dict[str, Any]

    @property
    def filename(self) -> str:
        return f"{self.kind.title}-{self.case_number}.pdf"


@dataclass(frozen=True)
class DocumentFile:
    filename: str
    number: str
    pdf: bytes


def document_pdf(platform: Platform, actor: Actor, case_id: int, kind: str,
                 renderer: PdfRenderer | None = None) -> DocumentFile:
    """The PDF of a case's document, numbered on first issue; audited as `document.downloaded`."""
    issued = issue_document(platform, actor, case_id, kind)
    pdf = (renderer or default_renderer()).render_pdf(issued.kind.template, issued.context)
    return DocumentFile(filename=issued.filename, number=issued.number, pdf=pdf)


def issue_document(platform: Platform, actor: Actor, case_id: int, kind: str) -> IssuedDocument:
    """Number the document (once) and record the download, in one transaction; NotFound out of scope."""
    doc_kind = KINDS.get(kind)
    if doc_kind is None:
        raise NotFound("文书类型不存在")
    with platform.db.unit_of_work() as session:
        find_case(session, actor, case_id)
        case = lock_case(session, case_id)
        if doc_kind.to_requester:
            return _issue_notice(session, platform, actor, case, doc_kind)
        receiving = _receiving_unit(session, case, doc_kind)
        supervision = _supervision(session, case) if doc_kind.needs_supervision else None
        overdue = _overdue(session, case) if doc_kind.needs_overdue else None
        issued = (_issued(session, case.id, doc_kind, receiving.id)
                  or _issue(session, platform, actor, case, doc_kind, receiving.id))
        reveal = may_see_personal(session, actor, case)
        audit.record(session, platform, actor, DOWNLOADED, case_id=case.id,
                     detail={"kind": doc_kind.key, "number": issued["number"], "personal_data": reveal})
        context = _context(session, platform, case, doc_kind, issued, receiving, reveal,
                           accuser_protected(session, actor, case))
        context["supervision"] = supervision
        context["overdue"] = overdue
        session.commit()
    return IssuedDocument(kind=doc_kind, number=str(issued["number"]), case_number=case.number, context=context)


def _issue_notice(session: Session, platform: Platform, actor: Actor, case: Case,
                  kind: DocumentKind) -> IssuedDocument:
    """A notice to the requester: one number per case and kind, drawn only once the step it records is done."""
    found = notices.facts(session, case, kind)
    issued = _issued(session, case.id, kind, None) or _issue(session, platform, actor, case, kind, None)
    reveal = may_see_personal(session, actor, case)
    audit.record(session, platform, actor, DOWNLOADED, case_id=case.id,
                 detail={"kind": kind.key, "number": issued["number"], "personal_data": reveal})
    issuing = session.get_one(Unit, issued["issuing_unit_id"])
    requester = _requester(platform, case, reveal, accuser_protected(session, actor, case))
    context = notices.context(session, case, kind, issued, issuing.name, requester, found)
    session.commit()
    return IssuedDocument(kind=kind, number=str(issued["number"]), case_number=case.number, context=context)


def _receiving_unit(session: Session, case: Case, kind: DocumentKind) -> Unit:
    unit = session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
    if unit is None:
        raise Conflict(f"该诉求件尚未确定承办单位,不能出具{kind.title}")
    return unit


def _issued(session: Session, case_id: int, kind: DocumentKind,
            receiving_unit_id: int | None) -> dict[str, Any] | None:
    """The number already issued for this case, kind and receiving unit, with its issue time."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.action == ISSUED)
                             .order_by(AuditEvent.id))
    for event in events:
        if event.detail.get("kind") == kind.key and event.detail.get("receiving_unit_id") == receiving_unit_id:
            return {**event.detail, "issued_at": event.at}
    return None


def _issue(session: Session, platform: Platform, actor: Actor, case: Case, kind: DocumentKind,
           receiving_unit_id: int | None) -> dict[str, Any]:
    """Draw the next number of the issuing unit's counter for this year and store it in the audit row."""
    issuing = session.get_one(Unit, case.registering_unit_id)
    now = platform.clock.now()
    counter = counter_name(kind, issuing.id, now.year)
    serial = next_value(session, counter)
    detail = {"kind": kind.key, "number": format_number(short_name(issuing.name), kind, now.year, serial),
              "serial": serial, "year": now.year, "counter": counter, "issuing_unit_id": issuing.id,
              "receiving_unit_id": receiving_unit_id}
    event = audit.record(session, platform, actor, ISSUED, case_id=case.id, detail=detail)
    return {**detail, "issued_at": event.at}


def issue_number(session: Session, platform: Platform, actor: Actor, case: Case, kind: str) -> str:
    """The document's number for a case already locked, drawn once (a scheduler issues the 催办通知书 so)."""
    doc_kind = KINDS[kind]
    receiving = _receiving_unit(session, case, doc_kind)
    issued = _issued(session, case.id, doc_kind, receiving.id) or _issue(session, platform, actor, case, doc_kind,
                                                                          receiving.id)
    return str(issued["number"])


def _overdue(session: Session, case: Case) -> dict[str, Any]:
    """The overdue step a 催办通知书 is about (the ladder's first notice rung of the case); Conflict if none."""
    row = session.execute(select(TaskEscalation, HumanTask).join(HumanTask, HumanTask.id == TaskEscalation.task_id)
                          .where(TaskEscalation.case_id == case.id, TaskEscalation.action == "notice")
                          .order_by(TaskEscalation.raised_at)).first()
    if row is None:
        raise Conflict("该诉求件没有逾期的步骤,不能出具催办通知书")
    rung, task = row
    return {"task": task.title, "due_at": f"{task.due_at:%Y-%m-%d %H:%M}" if task.due_at else "",
            "raised_at": f"{rung.raised_at:%Y-%m-%d %H:%M}"}


def _supervision(session: Session, case: Case) -> dict[str, Any]:
    """The latest 督办 of the case and how many there have been; Conflict if it was never supervised."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                      AuditEvent.action == "case.supervised")
                             .order_by(AuditEvent.id)).all()
    if not events:
        raise Conflict("该诉求件尚未督办,不能出具督办通知单")
    last = events[-1]
    user = session.get(User, last.actor_id) if last.actor_id else None
    by = f"{user.name}（{user.unit.name}）" if user else last.actor
    return {"count": len(events), "note": str(last.detail.get("note") or ""), "by": by,
            "at": f"{last.at:%Y-%m-%d %H:%M}"}


def _context(session: Session, platform: Platform, case: Case, kind: DocumentKind, issued: dict[str, Any],
             receiving: Unit, reveal: bool, protected: bool) -> dict[str, Any]:
    """Everything the template prints; personal data masked unless the reader may see it."""
    issuing = session.get_one(Unit, issued["issuing_unit_id"])
    return {
        "kind_title": kind.title, "number": issued["number"], "issuing_unit": issuing.name,
        "issued_date": chinese_date(issued["issued_at"]), "receiving_unit": receiving.name,
        "assisting_units": [u.name for u in case.assisting_units],
        "case": {"number": case.number, "registered_at": f"{case.created_at:%Y-%m-%d %H:%M}",
                 "channel": _label(session, "channel", case.channel), "kind": _label(session, "kind", case.kind),
                 "category": case.category or "", "subject": case.subject, "content": case.content,
                 "location": location_text(case, _unit_name(session, case.area_unit_id))},
        "requester": _requester(platform, case, reveal, protected),
        "time_limit": _time_limit(session, case, receiving.id),
        "instruction": _instruction(session, case.id),
        "attachments": attachments.listed(session, case.id),
    }


def _requester(platform: Platform, case: Case, reveal: bool, protected: bool) -> dict[str, Any]:
    view = requester_view(platform, case.requester, reveal, protected=protected)
    return {"name": view["name"], "phone": view["phone"] or "", "address": view["address"] or "",
            "masked": not reveal, "protected": protected}


def _time_limit(session: Session, case: Case, unit_id: int) -> dict[str, Any]:
    """The handling limit of the receiving unit: petitions by 信访工作条例 art. 32, hotline cases by kind."""
    petition = case.process_key == get_setting(session, "process.petition")
    key = "petition.handle" if petition else f"hotline.{case.kind}"
    try:
        rule = load_rule(session, key)
    except NotFound:
        return {"label": "按规定时限", "basis": "", "due_date": None}
    anchor = session.get(CaseDeadline, (case.id, key, unit_id))
    return {"label": rule.label, "basis": rule.legal_basis,
            "due_date": chinese_date(anchor.due_at) if anchor else None}


def _instruction(session: Session, case_id: int) -> str | None:
    """The leader's latest 批示 on the case, printed on the 交办函."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                      AuditEvent.action == "task.completed")
                             .order_by(AuditEvent.id.desc()))
    for event in events:
        if event.detail.get("task") == "instruct":
            return str((event.detail.get("data") or {}).get("instruction") or "") or None
    return None


def _unit_name(session: Session, unit_id: int | None) -> str | None:
    unit = session.get(Unit, unit_id) if unit_id else None
    return unit.name if unit else None


def _label(session: Session, dictionary: str, code: str) -> str:
    label = session.scalar(select(DictionaryEntry.label).where(DictionaryEntry.kind == dictionary,
                                                               DictionaryEntry.code == code))
    return label or code


def chinese_date(at: date | datetime) -> str:
    """'2026年11月25日', as printed documents write dates."""
    return f"{at.year}年{at.month}月{at.day}日"
