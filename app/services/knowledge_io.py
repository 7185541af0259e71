"""A city's existing knowledge base in and out: CSV (UTF-8 or GB18030, as Excel saves it) and XLSX.

One row per entry, the columns named in Chinese (`COLUMNS`); several phrasings in one cell, one a line.
An import is all or nothing: any row at fault refuses the file, naming the row and the field. Units are
named by code or by name. Imported entries are drafts, or published at once when a reviewer asks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from app.domain import knowledge as rules
from app.errors import Invalid
from app.models import KnowledgeEntry, Unit
from app.services import audit, knowledge, knowledge_index
from app.services.actors import Actor, require
from app.services.platform import Platform

# field → column title
COLUMNS = {"id": "编号", "title": "标题", "questions": "常见问法", "answer": "答复口径", "category": "事项分类",
           "unit": "所属单位", "area": "适用区域", "legal_basis": "政策依据", "keywords": "关键词",
           "valid_from": "生效日期", "valid_until": "失效日期", "state": "状态", "internal_note": "内部备注"}
MAX_ROWS = 20000
MAX_BYTES = 20 * 1024 * 1024


def _rows(platform: Platform, actor: Actor) -> Iterator[list[str]]:
    with platform.db.reading() as session:
        units = {u.id: u.code for u in session.scalars(select(Unit))}
        words = knowledge.state_labels(session)
        yield list(COLUMNS.values())
        for e in session.scalars(select(KnowledgeEntry).where(knowledge.visible_entries(actor))
                                 .order_by(KnowledgeEntry.id)):
            yield [str(e.id), e.title, "\n".join(e.questions or []), e.answer, e.category or "", units[e.unit_id],
                   units.get(e.area_unit_id or 0, ""), e.legal_basis, e.keywords, knowledge.plain(e.valid_from) or "",
                   knowledge.plain(e.valid_until) or "", words.get(e.state, e.state), e.internal_note]


def export_csv(platform: Platform, actor: Actor) -> bytes:
    """Every entry the actor may read, as CSV with a BOM (Excel opens it as UTF-8)."""
    require(actor, "knowledge.read")
    out = io.StringIO()
    csv.writer(out).writerows(_rows(platform, actor))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_xlsx(platform: Platform, actor: Actor) -> bytes:
    require(actor, "knowledge.read")
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("知识库")
    for row in _rows(platform, actor):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _read(data: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV or XLSX file as {column title: text}."""
    if not data:
        raise Invalid("请选择要导入的 CSV 或 XLSX 文件", {"file": "请选择要导入的 CSV 或 XLSX 文件"})
    if len(data) > MAX_BYTES:
        raise Invalid("文件过大(最大 20 MB)", {"file": "文件过大(最大 20 MB)"})
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except Exception as e:  # openpyxl raises many kinds for a file that is not a workbook
            raise Invalid("无法读取 XLSX 文件", {"file": "无法读取 XLSX 文件,请确认是 Excel 2007 及以上格式"}) from e
        values = [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise Invalid("无法识别文件编码", {"file": "无法识别文件编码,请保存为 UTF-8 或 GBK 的 CSV"})
        values = list(csv.reader(io.StringIO(text)))
    if not values:
        raise Invalid("文件是空的", {"file": "文件是空的"})
    header = [h.strip() for h in values[0]]
    if "标题" not in header or "答复口径" not in header:
        message = "第一行应为列名,至少包括「标题」和「答复口径」:" + "、".join(COLUMNS.values())
        raise Invalid(message, {"file": message})
    rows = [dict(zip(header, row, strict=False)) for row in values[1:] if any(c.strip() for c in row)]
    if len(rows) > MAX_ROWS:
        raise Invalid(f"一次最多导入 {MAX_ROWS} 条", {"file": f"一次最多导入 {MAX_ROWS} 条"})
    return rows


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
        problems: list[str] = []
        count = 0
        for number, row in enumerate(rows, start=2):
            raw: dict[str, Any] = {field: row.get(title, "") for field, title in COLUMNS.items()}
            for field, key in (("unit", "unit_id"), ("area", "area_unit_id")):
                name = (raw.pop(field) or "").strip()
                raw[key] = units.get(name, name) if name else None
            try:
                with session.begin_nested():
                    knowledge.add_entry(session, platform, actor, raw, words=words,
                                        state=rules.PUBLISHED if publish else rules.DRAFT)
                count += 1
            except Invalid as e:
                problems.append(f"第 {number} 行:" + "；".join(e.details.values() or [e.message]))
                if len(problems) >= 20:
                    break
        if problems:
            message = "导入未完成,请修改后重新导入:" + " ".join(problems)
            raise Invalid(message, {"file": message})
        audit.record(session, platform, actor, "knowledge.imported",
                     detail={"file": filename[:200], "entries": count, "published": publish})
        session.commit()
        return {"added": count}
