"""知识库 entries: written by a unit's editors, published by the centre's reviewers, confirmed when their review
date comes — every change audited. Search and the desk's use of entries: services/knowledge_desk.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from app.domain import knowledge as rules
from app.errors import Conflict, Invalid, NotFound, NotPermitted
from app.models import DictionaryEntry, KnowledgeEntry, KnowledgeSynonym, Unit
from app.services import audit, knowledge_index, scope
from app.services.actors import Actor, require
from app.services.dictionary import labels
from app.services.platform import Platform
from app.services.settings import get_setting

AREA_KINDS = ("district", "street")
FIELDS = ("title", "questions", "answer", "category", "unit_id", "area_unit_id", "legal_basis", "keywords",
          "internal_note", "valid_from", "valid_until")


def state_labels(session: Session) -> dict[str, str]:
    """The words of the entry states (dictionary kind knowledge_state), the stock words for any not there."""
    return rules.STATES | labels(session, rules.DICTIONARY_KIND, active_only=False)


def visible_entries(actor: Actor) -> ColumnElement[bool]:
    """What the actor may read: published entries; an editor also their own unit's; a reviewer every one."""
    if actor.can("knowledge.review"):
        return KnowledgeEntry.id.is_not(None)
    if not actor.can("knowledge.read"):
        return false()
    mine = scope.in_scope(actor, KnowledgeEntry.unit_id) if actor.can("knowledge.edit") else false()
    return or_(KnowledgeEntry.state == rules.PUBLISHED, mine)


def may_edit(session: Session, actor: Actor, entry: KnowledgeEntry) -> bool:
    """A reviewer edits any entry; an editor those of their unit (or below it)."""
    return actor.can("knowledge.review") or (
        actor.can("knowledge.edit") and scope.unit_in_scope(session, actor, entry.unit_id))


def find_entry(session: Session, actor: Actor, entry_id: int) -> KnowledgeEntry:
    """The entry if the actor may read it; one they may not is answered as missing."""
    entry = session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.id == entry_id, visible_entries(actor)))
    if entry is None:
        raise NotFound("知识条目不存在")
    return entry


def entry_choices(session: Session) -> dict[str, Any]:
    """The categories, units and areas an entry may name (what `checked` checks against)."""
    return _choices(session)


def _choices(session: Session) -> dict[str, Any]:
    categories = set(session.scalars(select(DictionaryEntry.code).where(DictionaryEntry.kind == "category",
                                                                        DictionaryEntry.active.is_(True))))
    units = session.execute(select(Unit.id, Unit.kind).where(Unit.active.is_(True))).all()
    return {"categories": categories, "units": {u.id for u in units},
            "areas": {u.id for u in units if u.kind in AREA_KINDS}}


def checked(session: Session, raw: Mapping[str, Any], choices: Mapping[str, Any] | None = None) -> rules.EntryInput:
    """The one check of an entry's fields against today's dictionary and unit tree; Invalid names the fields.
    An import passes `choices` (from `entry_choices`) read once for all its rows."""
    try:
        return rules.check_entry(raw, **(choices or _choices(session)))
    except rules.EntryRefused as e:
        raise Invalid("知识条目填写有误,请按提示修改", e.errors) from e


def _owner(session: Session, actor: Actor, wanted: int | None) -> int:
    """The owning unit: an editor's entries are their unit's (or one below); a reviewer may name any unit."""
    unit_id = wanted if wanted is not None else actor.unit_id
    if unit_id is None:
        message = "请选择所属单位"
        raise Invalid(message, {"unit_id": message})
    if not actor.can("knowledge.review") and not scope.unit_in_scope(session, actor, unit_id):
        message = "只能维护本单位的知识条目"
        raise Invalid(message, {"unit_id": message})
    return unit_id


def _apply(entry: KnowledgeEntry, data: rules.EntryInput, unit_id: int) -> dict[str, Any]:
    """Copy the checked fields onto the entry; answers {field: [before, after]} of what changed."""
    changes: dict[str, Any] = {}
    values = {"title": data.title, "questions": data.questions, "answer": data.answer,
              "answer_html": data.answer_html, "category": data.category,
              "unit_id": unit_id, "area_unit_id": data.area_unit_id, "legal_basis": data.legal_basis,
              "keywords": data.keywords, "internal_note": data.internal_note,
              "valid_from": data.valid_from, "valid_until": data.valid_until}
    for name, value in values.items():
        before = getattr(entry, name, None)
        if before != value:
            changes[name] = [plain(before), plain(value)]
            setattr(entry, name, value)
    return changes


def plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def add_entry(session: Session, platform: Platform, actor: Actor, raw: Mapping[str, Any], *,
              state: str = rules.DRAFT, words: Mapping[str, str] | None = None,
              choices: Mapping[str, Any] | None = None, tally: Counter[str] | None = None) -> KnowledgeEntry:
    """A new entry in the caller's transaction (the page, the API and the import call it), indexed and audited.
    An import passes `tally` to write the token counts once for all its entries (`knowledge_index.index_entry`)."""
    require(actor, "knowledge.edit")
    data = checked(session, raw, choices)
    now = platform.clock.now()
    entry = KnowledgeEntry(state=state, created_at=now, updated_at=now, created_by_id=actor.user_id, use_count=0,
                           reviewed_at=now if state == rules.PUBLISHED else None)
    _apply(entry, data, _owner(session, actor, data.unit_id))
    session.add(entry)
    session.flush()
    knowledge_index.index_entry(session, entry, knowledge_index.synonyms(session) if words is None else words,
                                tally)
    audit.record(session, platform, actor, "knowledge.created",
                 detail={"entry": entry.id, "title": entry.title, "state": state, "unit": entry.unit_id})
    return entry


def create_entry(platform: Platform, actor: Actor, raw: Mapping[str, Any]) -> dict[str, Any]:
    """新建知识 (a draft)."""
    with platform.db.unit_of_work() as session:
        entry = add_entry(session, platform, actor, raw)
        session.commit()
        return {"id": entry.id, "state": entry.state}


def preview_answer(actor: Actor, body: object) -> dict[str, str]:
    """The answer as saving would keep it, for the editor's live preview: the sanitised rich text (nh3, the one
    judge) and the plain reading the agent reads aloud. `body` is the posted JSON ({"answer": "…"}), read only
    after the right to edit is checked: who may not edit learns nothing of the form."""
    require(actor, "knowledge.edit")
    title, limit = rules.LIMITS["answer"]
    raw = body.get("answer", "") if isinstance(body, Mapping) else None
    if not isinstance(raw, str) or len(raw) > limit:
        message = f"{title}应为不超过 {limit} 个字的文本"
        raise Invalid(message, {"answer": message})
    text, html = rules.rich_answer(raw)
    return {"html": html, "text": text}


def update_entry(platform: Platform, actor: Actor, entry_id: int, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Edit an entry. An editor's change to a published entry sends it back to 待审核 (it leaves the desk and the
    portal until a reviewer publishes it again); a reviewer's change keeps it published."""
    require(actor, "knowledge.edit")
    with platform.db.unit_of_work() as session:
        entry = find_entry(session, actor, entry_id)
        if not may_edit(session, actor, entry):
            raise NotPermitted("只能维护本单位的知识条目")
        data = checked(session, raw)
        changes = _apply(entry, data, _owner(session, actor, data.unit_id or entry.unit_id))
        if not changes:
            return {"id": entry.id, "state": entry.state, "changed": []}
        before = entry.state
        if entry.state == rules.PUBLISHED and not actor.can("knowledge.review"):
            entry.state = rules.PENDING
        entry.updated_at = platform.clock.now()
        knowledge_index.index_entry(session, entry, knowledge_index.synonyms(session))
        audit.record(session, platform, actor, "knowledge.updated",
                     detail={"entry": entry.id, "changes": changes, "state": [before, entry.state]})
        session.commit()
        return {"id": entry.id, "state": entry.state, "changed": sorted(changes)}


def change_state(platform: Platform, actor: Actor, entry_id: int, action: str, note: str = "") -> dict[str, Any]:
    """提交审核 / 审核发布 / 退回修改 / 下线 / 重新编辑, by `app.domain.knowledge.TRANSITIONS`. Audited."""
    if action not in rules.TRANSITIONS:
        raise NotFound(f"没有此操作:{action}")
    starts, reaches, permission = rules.TRANSITIONS[action]
    require(actor, permission)
    if len(note) > 500:
        raise Invalid("说明最多 500 个字符", {"note": "说明最多 500 个字符"})
    with platform.db.unit_of_work() as session:
        entry = find_entry(session, actor, entry_id)
        if not may_edit(session, actor, entry):
            raise NotPermitted("只能维护本单位的知识条目")
        if entry.state not in starts:
            words = state_labels(session)
            raise Conflict(f"该条目{words.get(entry.state, entry.state)},不能{rules.ACTION_WORDS[action]}")
        before, entry.state = entry.state, reaches
        now = platform.clock.now()
        entry.updated_at = now
        if reaches == rules.PUBLISHED:
            entry.reviewed_at = now
        audit.record(session, platform, actor, f"knowledge.{action}",
                     detail={"entry": entry.id, "state": [before, reaches], "note": note.strip()})
        session.commit()
        return {"id": entry.id, "state": reaches}


def confirm_entry(platform: Platform, actor: Actor, entry_id: int) -> dict[str, Any]:
    """复核确认: the owner says the published answer still holds; its review date starts again. Audited."""
    require(actor, "knowledge.edit")
    with platform.db.unit_of_work() as session:
        entry = find_entry(session, actor, entry_id)
        if not may_edit(session, actor, entry):
            raise NotPermitted("只能维护本单位的知识条目")
        if entry.state != rules.PUBLISHED:
            raise Conflict("只有已发布的条目需要复核确认")
        entry.reviewed_at = platform.clock.now()
        audit.record(session, platform, actor, "knowledge.confirmed", detail={"entry": entry.id})
        session.commit()
        return {"id": entry.id, "reviewed_at": entry.reviewed_at.isoformat()}


def review_tasks(session: Session, platform: Platform, actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """知识复核: the published entries of the actor's unit (or below) whose review date has passed, oldest first."""
    if not actor.can("knowledge.edit") or not actor.unit_path:
        return []
    days = int(get_setting(session, "knowledge.review_days"))
    due_before = platform.clock.now() - timedelta(days=days)
    last = func.coalesce(KnowledgeEntry.reviewed_at, KnowledgeEntry.created_at)
    rows = session.execute(select(KnowledgeEntry.id, KnowledgeEntry.title, last, Unit.name)
                           .join(Unit, Unit.id == KnowledgeEntry.unit_id)
                           .where(KnowledgeEntry.state == rules.PUBLISHED, last <= due_before,
                                  scope.in_scope(actor, KnowledgeEntry.unit_id))
                           .order_by(last, KnowledgeEntry.id).limit(limit)).all()
    return [{"id": r[0], "title": r[1], "reviewed_at": r[2], "unit": r[3], "due": r[2] + timedelta(days=days)}
            for r in rows]


def synonym_groups(platform: Platform, actor: Actor) -> list[str]:
    """同义词 as the administrator edits them: one group a line, 居住证=暂住证."""
    require(actor, "dictionary.edit")
    with platform.db.reading() as session:
        return list(session.scalars(select(KnowledgeSynonym.words).order_by(KnowledgeSynonym.id)))


def save_synonyms(platform: Platform, actor: Actor, text: str) -> dict[str, int]:
    """Replace the synonym groups (one a line) and re-index the entries any changed word appears in. Audited."""
    require(actor, "dictionary.edit")
    groups = [line.strip() for line in text.splitlines() if line.strip()]
    problems = [g for g in groups if len(g) > 300 or len(rules.synonym_map([g])) == 0]
    if problems or len(groups) > 2000:
        message = f"每行一组、至少两个词,用 = 分隔,每行不超过 300 字:{problems[0] if problems else '最多 2000 行'}"
        raise Invalid(message, {"synonyms": message})
    with platform.db.unit_of_work() as session:
        before = list(session.scalars(select(KnowledgeSynonym.words).order_by(KnowledgeSynonym.id)))
        old, new = rules.synonym_map(before), rules.synonym_map(groups)
        touched = {w for w in set(old) | set(new) if old.get(w) != new.get(w)}
        touched |= {old[w] for w in touched if w in old} | {new[w] for w in touched if w in new}
        session.query(KnowledgeSynonym).delete()
        session.add_all(KnowledgeSynonym(words=g) for g in groups)
        session.flush()
        affected = _entries_mentioning(session, touched)
        count = knowledge_index.reindex(session, affected)
        audit.record(session, platform, actor, "knowledge.synonyms_changed",
                     detail={"before": before, "after": groups, "reindexed": count})
        session.commit()
        return {"groups": len(groups), "reindexed": count}


def _entries_mentioning(session: Session, words: set[str]) -> list[int]:
    """Entries whose text holds any of the words (a scan, acceptable for an administrator's rare edit)."""
    if not words:
        return []
    found: set[int] = set()
    for entry_id, title, questions, answer, keywords in session.execute(select(
            KnowledgeEntry.id, KnowledgeEntry.title, KnowledgeEntry.questions, KnowledgeEntry.answer,
            KnowledgeEntry.keywords)):
        folded = rules.fold(" ".join([title, *map(str, questions or []), answer, keywords]))
        if any(w in folded for w in words):
            found.add(entry_id)
    return sorted(found)
