"""The 知识库 pages for staff: the list with its search and filters, one entry, the edit form's choices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import knowledge as rules
from app.errors import NotPermitted
from app.models import KnowledgeEntry, KnowledgeFeedback, KnowledgeUse, Unit, User
from app.services import knowledge, knowledge_files, knowledge_index, scope
from app.services.actors import Actor, require
from app.services.dictionary import labels
from app.services.platform import Platform
from app.services.settings import get_setting
from app.services.workstation.display import category_tree, format_time

PER_PAGE = 30


def entry_dict(entry: KnowledgeEntry, words: Mapping[str, str], units: Mapping[int, str], *,
               categories: Mapping[str, str]) -> dict[str, Any]:
    """An entry as the staff pages show it (no internal note: callers add it for those who may see it)."""
    return {"id": entry.id, "title": entry.title, "questions": list(entry.questions or []), "answer": entry.answer,
            "answer_html": rules.safe_html(entry.answer_html) if entry.answer_html else "",
            "category": entry.category, "category_label": categories.get(entry.category or "", entry.category or ""),
            "unit_id": entry.unit_id, "unit": units.get(entry.unit_id, ""),
            "area_unit_id": entry.area_unit_id, "area": units.get(entry.area_unit_id or 0, "全市"),
            "legal_basis": entry.legal_basis, "keywords": entry.keywords, "state": entry.state,
            "state_label": words.get(entry.state, entry.state), "use_count": entry.use_count,
            "valid_from": knowledge.plain(entry.valid_from) or "",
            "valid_until": knowledge.plain(entry.valid_until) or "",
            "reviewed_at": format_time(entry.reviewed_at), "updated_at": format_time(entry.updated_at)}


def _unit_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Unit.id, Unit.name)).all())


def entry_page(platform: Platform, actor: Actor, entry_id: int) -> dict[str, Any]:
    """/knowledge/<id>: the entry with its words, owner, use count, open feedback and what the actor may do."""
    require(actor, "knowledge.read")
    with platform.db.reading() as session:
        entry = knowledge.find_entry(session, actor, entry_id)
        words = knowledge.state_labels(session)
        editable = knowledge.may_edit(session, actor, entry)
        feedback = session.execute(select(KnowledgeFeedback, User.name).outerjoin(
            User, User.id == KnowledgeFeedback.user_id).where(KnowledgeFeedback.entry_id == entry.id)
            .order_by(KnowledgeFeedback.id.desc()).limit(50)).all() if editable else []
        actions = [a for a, (starts, _, perm) in rules.TRANSITIONS.items()
                   if entry.state in starts and actor.can(perm) and editable]
        days = int(get_setting(session, "knowledge.review_days"))
        today = platform.clock.now().date()
        categories = labels(session, "category", active_only=False)
        return {**entry_dict(entry, words, _unit_names(session), categories=categories),
                "editable": editable, "actions": {a: rules.ACTION_WORDS[a] for a in actions},
                "internal_note": entry.internal_note if editable else "",
                "attachments": knowledge_files.listed(session, entry.id),
                "review_due": entry.state == rules.PUBLISHED and rules.review_due(
                    entry.reviewed_at, entry.created_at, today, days),
                "feedback": [{"id": f.id, "note": f.note, "by": name or "", "at": format_time(f.created_at),
                              "resolved": f.resolved_at is not None} for f, name in feedback]}


def form_values(entry: KnowledgeEntry | None) -> dict[str, str]:
    """The edit form's values (questions one a line)."""
    if entry is None:
        return {name: "" for name in knowledge.FIELDS}
    return {"title": entry.title, "questions": "\n".join(entry.questions or []),
            "answer": entry.answer_html or entry.answer,
            "category": entry.category or "", "unit_id": str(entry.unit_id),
            "area_unit_id": str(entry.area_unit_id or ""), "legal_basis": entry.legal_basis,
            "keywords": entry.keywords, "internal_note": entry.internal_note,
            "valid_from": knowledge.plain(entry.valid_from) or "",
            "valid_until": knowledge.plain(entry.valid_until) or ""}


def edit_form(platform: Platform, actor: Actor, entry_id: int | None) -> dict[str, Any]:
    """The edit form: the entry's values (empty for a new one) and what may be chosen."""
    require(actor, "knowledge.edit")
    with platform.db.reading() as session:
        values = {name: "" for name in knowledge.FIELDS} | {"unit_id": str(actor.unit_id or "")}
        if entry_id is not None:
            entry = knowledge.find_entry(session, actor, entry_id)
            if not knowledge.may_edit(session, actor, entry):
                raise NotPermitted("只能维护本单位的知识条目")
            values = form_values(entry)
        return {"values": values, **_choices(session, actor)}


def _choices(session: Session, actor: Actor) -> dict[str, Any]:
    units = session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.id)).all()
    mine = set(session.scalars(select(Unit.id).where(scope.in_scope(actor, Unit.id))))
    return {"categories": category_tree(session),
            "owners": [{"id": u.id, "name": u.name} for u in units if actor.can("knowledge.review") or u.id in mine],
            "areas": [{"id": u.id, "name": u.name} for u in units if u.kind in knowledge.AREA_KINDS]}


def choices(platform: Platform, actor: Actor) -> dict[str, Any]:
    """The edit form's lists, for a form shown again with its errors."""
    require(actor, "knowledge.edit")
    with platform.db.reading() as session:
        return _choices(session, actor)


def list_page(platform: Platform, actor: Actor, *, q: str = "", category: str = "", unit: int | None = None,
              state: str = "", page: int = 1) -> dict[str, Any]:
    """/knowledge: found by words (ranked) or newest first; filters by category, unit and state; the counts
    of 知识库命中 this month and the entries the actor's unit owes a review."""
    require(actor, "knowledge.read")
    with platform.db.reading() as session:
        words = knowledge.state_labels(session)
        states = (state,) if state in rules.STATES else None
        where = [knowledge.visible_entries(actor)]
        filters = knowledge_index.Filters(category=category or None, unit_id=unit, states=states)
        now = platform.clock.now()
        if q.strip():
            found = [(hit.entry, hit.score) for hit in knowledge_index.search(
                session, q, filters, today=now.date(), review_days=int(get_setting(session, "knowledge.review_days")),
                extra=where, limit=PER_PAGE)]
            total, pages, page = len(found), 1, 1
        else:
            query = select(KnowledgeEntry).where(*where, *knowledge_index.filter_clauses(filters))
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            pages = max(1, -(-total // PER_PAGE))
            page = min(max(page, 1), pages)
            found = [(e, 0.0) for e in session.scalars(query.order_by(KnowledgeEntry.updated_at.desc(),
                                                                      KnowledgeEntry.id.desc())
                                                       .offset((page - 1) * PER_PAGE).limit(PER_PAGE))]
        units = _unit_names(session)
        categories = labels(session, "category", active_only=False)
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        hits = session.scalar(select(func.count()).select_from(KnowledgeUse).where(KnowledgeUse.used_at >= month))
        return {"items": [entry_dict(e, words, units, categories=categories) | {"score": round(s, 3)}
                          for e, s in found],
                "total": total, "page": page, "pages": pages, "states": words,
                "categories": category_tree(session), "units": [{"id": i, "name": n} for i, n in units.items()],
                "hits_this_month": hits or 0, "reviews": [
                    r | {"reviewed_at": format_time(r["reviewed_at"]), "due": format_time(r["due"])}
                    for r in knowledge.review_tasks(session, platform, actor)],
                "may_edit": actor.can("knowledge.edit"), "may_admin_synonyms": actor.can("dictionary.edit")}
