"""A city's existing knowledge base in and out: CSV (UTF-8) and XLSX, read and written by services/tabular.py.

One row per entry, the columns named in Chinese (`COLUMNS`); several phrasings in one cell, one a line.
An import is all or nothing: any row at fault refuses the file, naming the row and the field. Units are
named by code or by name. Imported entries are drafts, or published at once when a reviewer asks.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from app.domain import knowledge as rules
from app.errors import Invalid
from app.models import KnowledgeEntry, Unit
from app.services import audit, knowledge, knowledge_index, tabular
from app.services.actors import Actor, require
from app.services.platform import Platform

# field → column title; the imported ones first (tabular reads at most MAX_COLUMNS), 编号 and 状态 only go out
COLUMNS = {"title": "标题", "questions": "常见问法", "answer": "答复口径", "category": "事项分类",
           "unit": "所属单位", "area": "适用区域", "legal_basis": "政策依据", "keywords": "关键词",
           "valid_from": "生效日期", "valid_until": "失效日期", "internal_note": "内部备注", "id": "编号",
           "state": "状态"}
MAX_ROWS = 20000


def _rows(platform: Platform, actor: Actor) -> list[list[str]]:
    with platform.db.reading() as session:
        units = {u.id: u.code for u in session.scalars(select(Unit))}
        words = knowledge.state_labels(session)
        return [[e.title, "\n".join(e.questions or []), e.answer_html or e.answer, e.category or "", units[e.unit_id],
                 units.get(e.area_unit_id or 0, ""), e.legal_basis, e.keywords, knowledge.plain(e.valid_from) or "",
                 knowledge.plain(e.valid_until) or "", e.internal_note, str(e.id), words.get(e.state, e.state)]
                for e in session.scalars(select(KnowledgeEntry).where(knowledge.visible_entries(actor))
                                         .order_by(KnowledgeEntry.id))]


def export_file(platform: Platform, actor: Actor, fmt: str) -> bytes:
    """Every entry the actor may read, as CSV (UTF-8 with BOM) or XLSX, in the columns an import reads back."""
    require(actor, "knowledge.read")
    return tabular.write(fmt, list(COLUMNS.values()), _rows(platform, actor), "知识库")


def _read(data: bytes, filename: str) -> list[tuple[int, dict[str, str]]]:
    """The data rows of a CSV or XLSX file as (row number, {column title: text})."""
    rows = tabular.read_rows(data, filename, max_rows=MAX_ROWS + 1)
    header = rows[0]
    if "标题" not in header or "答复口径" not in header:
        message = "第一行应为列名,至少包括「标题」和「答复口径」:" + "、".join(COLUMNS.values())
        raise Invalid(message, {"file": message})
    return [(number, dict(zip(header, cells, strict=False)))
            for number, cells in tabular.without_header(rows, *header[:1])]


def import_file(platform: Platform, actor: Actor, data: bytes, filename: str, *,
                publish: bool = False) -> dict[str, int]:
    """Add every row as a new entry (a draft; published at once if a reviewer asks), all or nothing. Audited."""
    require(actor, "knowledge.edit")
    if publish:
        require(actor, "knowledge.review")
    rows = _read(data, filename)
    with platform.db.unit_of_work() as session:
        units = {}
        for u in session.scalars(select(Unit).where(Unit.active.is_(True))):
            units[u.code], units[u.name] = u.id, u.id
        words = knowledge_index.synonyms(session)
        choices = knowledge.entry_choices(session)  # read once, not once a row
        tally: Counter[str] = Counter()  # the token counts, written once after the rows
        problems: list[str] = []
        count = 0
        for number, row in rows:
            raw: dict[str, Any] = {field: row.get(title, "") for field, title in COLUMNS.items()}
            for field, key in (("unit", "unit_id"), ("area", "area_unit_id")):
                name = (raw.pop(field) or "").strip()
                raw[key] = units.get(name, name) if name else None
            try:
                with session.begin_nested():
                    knowledge.add_entry(session, platform, actor, raw, words=words, choices=choices, tally=tally,
                                        state=rules.PUBLISHED if publish else rules.DRAFT)
                count += 1
            except Invalid as e:
                problems.append(f"第 {number} 行:" + "；".join(e.details.values() or [e.message]))
                if len(problems) >= 20:
                    break
        if problems:
            message = "导入未完成,请修改后重新导入:" + " ".join(problems)
            raise Invalid(message, {"file": message})
        knowledge_index.count_terms(session, tally)
        audit.record(session, platform, actor, "knowledge.imported",
                     detail={"file": filename[:200], "entries": count, "published": publish})
        session.commit()
        return {"added": count}
