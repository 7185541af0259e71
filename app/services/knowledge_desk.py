"""The knowledge base at work: search for staff, suggestions while a case is typed, 用此答复 recorded on the
case it answered (知识库命中), 答复不准确 sent to the owner, and the public 常见问题 (published entries only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain import knowledge as rules
from app.domain.intake import DIRECT_REPLY_KINDS
from app.errors import Conflict, Invalid, NotFound, NotPermitted
from app.models import Case, KnowledgeEntry, KnowledgeFeedback, KnowledgeUse, Unit
from app.services import audit, knowledge, knowledge_files, knowledge_index
from app.services.actors import Actor, require
from app.services.platform import Platform
from app.services.settings import get_setting

MAX_QUERY = 2000  # characters of a query or a draft case searched by (the rest adds nothing)
MAX_NOTE = 1000


def _items(found: Sequence[knowledge_index.Hit], *, public: bool) -> list[dict[str, Any]]:
    """What a search answers: id, title, answer, unit, score (and, for staff, what the desk shows beside)."""
    items = []
    for entry, score, unit in found:
        item = {"id": entry.id, "title": entry.title, "answer": entry.answer,
                "answer_html": rules.safe_html(entry.answer_html) if entry.answer_html else "", "unit": unit,
                "score": round(score, 4), "category": entry.category, "legal_basis": entry.legal_basis,
                "questions": list(entry.questions or [])[:3]}
        if not public:
            item |= {"state": entry.state, "use_count": entry.use_count}
        items.append(item)
    return items


def _query(text: str, field: str, title: str) -> str:
    if not isinstance(text, str) or "\x00" in text:
        message = f"{title}无效"
        raise Invalid(message, {field: message})
    return text[:MAX_QUERY]


def search_entries(platform: Platform, actor: Actor, q: str, *, category: str = "", unit: int | None = None,
                   area: int | None = None, limit: int = 10) -> dict[str, Any]:
    """GET /api/v1/knowledge: the entries the actor may read that best answer the words."""
    require(actor, "knowledge.read")
    q = _query(q, "q", "检索词")
    with platform.db.reading() as session:
        filters = knowledge_index.Filters(category=category or None, unit_id=unit, area_unit_id=area, states=None)
        found = knowledge_index.search(session, q, filters, today=platform.clock.now().date(),
                                       review_days=int(get_setting(session, "knowledge.review_days")),
                                       extra=[knowledge.visible_entries(actor)], limit=max(1, min(limit, 50)))
        return {"items": _items(found, public=False), "q": q}


def _answering(session: Session, platform: Platform, text: str, category: str | None, area: int | None,
               limit: int) -> list[knowledge_index.Hit]:
    """Published entries in force today that best answer a draft: what the desk and the portal suggest."""
    filters = knowledge_index.Filters(area_unit_id=area, states=(rules.PUBLISHED,),
                                      valid_on=platform.clock.now().date())
    return knowledge_index.search(session, text, filters, today=platform.clock.now().date(),
                                  review_days=int(get_setting(session, "knowledge.review_days")),
                                  category_hint=category, limit=limit)


def suggest(platform: Platform, actor: Actor, content: str, *, category: str = "", area: int | None = None
            ) -> dict[str, Any]:
    """POST /api/v1/knowledge/suggest and the intake page: entries for the case being typed, best first."""
    require(actor, "knowledge.read")
    content = _query(content, "content", "诉求内容")
    with platform.db.reading() as session:
        limit = int(get_setting(session, "knowledge.suggestions"))
        return {"items": _items(_answering(session, platform, content, category or None, area, limit),
                                public=False)}


def public_suggest(platform: Platform, content: str) -> dict[str, Any]:
    """The portal's submit form: published entries only, never internal notes (the public rate limit applies)."""
    content = _query(content, "content", "诉求内容")
    with platform.db.reading() as session:
        limit = int(get_setting(session, "knowledge.suggestions"))
        return {"items": _items(_answering(session, platform, content, None, None, limit), public=True)}


def public_faq(platform: Platform, q: str, *, category: str = "") -> dict[str, Any]:
    """常见问题 on the portal: the words searched, or the most used published entries; published and in force only."""
    q = _query(q, "q", "检索词")
    with platform.db.reading() as session:
        today = platform.clock.now().date()
        filters = knowledge_index.Filters(category=category or None, states=(rules.PUBLISHED,), valid_on=today)
        if q.strip():
            found = knowledge_index.search(session, q, filters, today=today,
                                           review_days=int(get_setting(session, "knowledge.review_days")), limit=20)
        else:
            found = [knowledge_index.Hit(e, 0.0, unit or "") for e, unit in session.execute(
                select(KnowledgeEntry, Unit.name).outerjoin(Unit, Unit.id == KnowledgeEntry.unit_id)
                .where(*knowledge_index.filter_clauses(filters))
                .order_by(KnowledgeEntry.use_count.desc(), KnowledgeEntry.id).limit(20))]
        return {"items": _items(found, public=True), "q": q}


def public_entry(platform: Platform, entry_id: int) -> dict[str, Any]:
    """One published entry in force, for the portal (a draft or an offline entry is not found)."""
    with platform.db.reading() as session:
        today = platform.clock.now().date()
        entry = session.get(KnowledgeEntry, entry_id)
        if entry is None or entry.state != rules.PUBLISHED or not rules.currently_valid(
                entry.valid_from, entry.valid_until, today):
            raise NotFound("该问题不存在或已下线")
        unit = session.get(Unit, entry.unit_id)
        item = _items([knowledge_index.Hit(entry, 0.0, unit.name if unit else "")], public=True)[0]
        return item | {"attachments": knowledge_files.listed(session, entry.id)}


def record_answer(session: Session, platform: Platform, actor: Actor, case: Case, entry_id: int) -> None:
    """用此答复: the case was answered at intake from this entry — linked, counted, audited (caller's transaction)."""
    require(actor, "knowledge.read")
    today = platform.clock.now().date()
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None or entry.state != rules.PUBLISHED or not rules.currently_valid(
            entry.valid_from, entry.valid_until, today):
        message = "所选知识条目不存在或未发布,请重新选择"
        raise Invalid(message, {"knowledge_entry": message})
    if case.kind not in DIRECT_REPLY_KINDS:
        message = "只有直接答复的诉求件可以引用知识条目"
        raise Invalid(message, {"knowledge_entry": message})
    session.add(KnowledgeUse(case_id=case.id, entry_id=entry.id, user_id=actor.user_id, used_at=platform.clock.now()))
    session.execute(update(KnowledgeEntry).where(KnowledgeEntry.id == entry.id)
                    .values(use_count=KnowledgeEntry.use_count + 1).execution_options(synchronize_session=False))
    audit.record(session, platform, actor, "knowledge.used", case_id=case.id,
                 detail={"entry": entry.id, "title": entry.title})


def answered_with(session: Session, case_id: int) -> dict[str, Any] | None:
    """The entry a case was answered with at intake (用此答复), for the case page: id and title, or None."""
    row = session.execute(select(KnowledgeEntry.id, KnowledgeEntry.title).join(
        KnowledgeUse, KnowledgeUse.entry_id == KnowledgeEntry.id).where(KnowledgeUse.case_id == case_id)).first()
    return {"id": row[0], "title": row[1]} if row else None


def report_inaccurate(platform: Platform, actor: Actor, entry_id: int, note: str) -> dict[str, Any]:
    """答复不准确: the desk tells the owning unit; it shows on the entry for its editors. Audited."""
    require(actor, "knowledge.read")
    note = (note or "").strip()
    if not note or len(note) > MAX_NOTE or "\x00" in note:
        message = f"请写明哪里不准确(不超过 {MAX_NOTE} 个字)"
        raise Invalid(message, {"note": message})
    with platform.db.unit_of_work() as session:
        entry = knowledge.find_entry(session, actor, entry_id)
        feedback = KnowledgeFeedback(entry_id=entry.id, user_id=actor.user_id, note=note,
                                     created_at=platform.clock.now())
        session.add(feedback)
        session.flush()
        audit.record(session, platform, actor, "knowledge.feedback",
                     detail={"entry": entry.id, "feedback": feedback.id})
        session.commit()
        return {"id": feedback.id, "entry": entry.id}



def resolve_feedback(platform: Platform, actor: Actor, entry_id: int, feedback_id: int) -> dict[str, Any]:
    """已处理: the owning unit's editor (or a reviewer) marks a 答复不准确 note as dealt with. Audited."""
    require(actor, "knowledge.edit")
    with platform.db.unit_of_work() as session:
        entry = knowledge.find_entry(session, actor, entry_id)
        if not knowledge.may_edit(session, actor, entry):
            raise NotPermitted("只能处理本单位知识条目的反馈")
        feedback = session.get(KnowledgeFeedback, feedback_id)
        if feedback is None or feedback.entry_id != entry.id:
            raise NotFound("反馈不存在")
        if feedback.resolved_at is not None:
            raise Conflict("该反馈已处理")
        feedback.resolved_at = platform.clock.now()
        audit.record(session, platform, actor, "knowledge.feedback_resolved",
                     detail={"entry": entry.id, "feedback": feedback.id})
        session.commit()
        return {"id": feedback_id, "entry": entry_id}
