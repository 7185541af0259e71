"""Keeping the data dictionary: add, edit, enable/disable entries, and CSV import/export of a city's catalogue.

An entry is never deleted (old cases carry its code): a retired one is disabled. Every change is audited
with before/after. An import checks every row first; one bad row refuses the whole file, naming the row.
Readers (intake, dispatch, reports) query the table on each use, so a change shows on the next request.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Invalid, NotPermitted
from app.models import DictionaryEntry
from app.services import audit
from app.services.actors import Actor
from app.services.platform import Platform

# kind code → what the page calls it; categories form a tree (GB/T 39666 style: levels under a parent)
KINDS = {"category": "事项分类", "kind": "诉求类型", "channel": "来源渠道", "case_status": "案件状态",
         "reject_reason": "不予受理理由", "return_reason": "退回理由", "extension_reason": "延期理由",
         "pause_reason": "暂停理由", "satisfaction": "满意度选项", "document_type": "文书类型"}
COLUMNS = ("kind", "code", "label", "parent", "sort", "active")
MAX_CODE, MAX_LABEL = 80, 100
TRUE, FALSE = {"1", "true", "是", "启用", "y", "yes", "on"}, {"0", "false", "否", "停用", "n", "no"}


def _entry(r: DictionaryEntry, codes: dict[int, str]) -> dict[str, Any]:
    return {"kind": r.kind, "code": r.code, "label": r.label, "parent": codes.get(r.parent_id or 0),
            "sort": r.sort, "active": r.active}


def tree(platform: Platform, kind: str) -> list[dict[str, Any]]:
    """One list in page order: a tree walked depth first (each row with its level), or a flat list."""
    with platform.db.reading() as session:
        rows = session.scalars(select(DictionaryEntry).where(DictionaryEntry.kind == kind)
                               .order_by(DictionaryEntry.sort, DictionaryEntry.id)).all()
    codes = {r.id: r.code for r in rows}
    children: dict[int | None, list[DictionaryEntry]] = {}
    for r in rows:
        children.setdefault(r.parent_id if r.parent_id in codes else None, []).append(r)
    out: list[dict[str, Any]] = []

    def walk(parent: int | None, level: int) -> None:
        for r in children.get(parent, []):
            out.append(dict(_entry(r, codes), level=level, leaf=r.id not in children))
            walk(r.id, level + 1)
    walk(None, 1)
    return out


def _check(kind: str, code: str, label: str, errors: dict[str, str], prefix: str = "") -> None:
    if kind not in KINDS:
        errors[f"{prefix}kind"] = f"字典类别无效:{kind}"
    if not code or len(code) > MAX_CODE or any(c.isspace() for c in code):
        errors[f"{prefix}code"] = f"编码必填,不含空白,且不超过 {MAX_CODE} 个字符"
    if not label or len(label) > MAX_LABEL:
        errors[f"{prefix}label"] = f"名称必填,且不超过 {MAX_LABEL} 个字"


def _flag(value: Any, default: bool = True) -> bool | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in TRUE else False if text in FALSE else None


def _sort(value: Any) -> int | None:
    if value in (None, ""):
        return 0
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 <= number < 2**31 else None


def _apply(session: Session, row: dict[str, Any], errors: dict[str, str], prefix: str = "") -> dict[str, Any]:
    """Add or update one entry from checked text fields; answers before/after (before None when new)."""
    kind, code = row["kind"], row["code"]
    found = session.scalar(select(DictionaryEntry).where(DictionaryEntry.kind == kind, DictionaryEntry.code == code))
    parent_id = None
    if row.get("parent"):
        parent_id = session.scalar(select(DictionaryEntry.id).where(DictionaryEntry.kind == kind,
                                                                    DictionaryEntry.code == row["parent"]))
        if parent_id is None or row["parent"] == code:
            errors[f"{prefix}parent"] = f"上级编码不存在:{row['parent']}"
            return {}
    codes = dict(session.execute(select(DictionaryEntry.id, DictionaryEntry.code)
                                 .where(DictionaryEntry.kind == kind)).all())
    before = _entry(found, codes) if found else None
    if found is None:
        found = DictionaryEntry(kind=kind, code=code)
        session.add(found)
    found.label, found.parent_id, found.sort, found.active = row["label"], parent_id, row["sort"], row["active"]
    session.flush()
    codes[found.id] = code
    return {"before": before, "after": _entry(found, codes)}


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _fields(values: dict[str, Any], errors: dict[str, str], prefix: str = "") -> dict[str, Any]:
    text = {k: _text(values.get(k)) for k in ("kind", "code", "label", "parent")}
    _check(text["kind"], text["code"], text["label"], errors, prefix)
    sort, active = _sort(values.get("sort")), _flag(values.get("active"))
    if sort is None:
        errors[f"{prefix}sort"] = "排序应为非负整数"
    if active is None:
        errors[f"{prefix}active"] = "启用应为 是/否"
    return {**text, "sort": sort or 0, "active": bool(active)}


def save_entry(platform: Platform, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """Add an entry or change one (label, parent, sort, enabled); audited before/after."""
    if not actor.can("dictionary.edit"):
        raise NotPermitted("没有维护数据字典的权限")
    errors: dict[str, str] = {}
    row = _fields(values, errors)
    with platform.db.unit_of_work() as session:
        change = {} if errors else _apply(session, row, errors)
        if errors:
            raise Invalid("数据字典条目有误", errors)
        audit.record(session, platform, actor, "dictionary.saved", detail=change)
        session.commit()
        return dict(change["after"])


def export_csv(platform: Platform, kind: str | None = None) -> str:
    """Every entry (or one kind's) as CSV with a BOM (Excel opens it in UTF-8), parents before children."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for k in ([kind] if kind else list(KINDS)):
        for r in tree(platform, k):
            writer.writerow([r["kind"], r["code"], r["label"], r["parent"] or "", r["sort"],
                             "1" if r["active"] else "0"])
    return "\ufeff" + out.getvalue()


def import_csv(platform: Platform, actor: Actor, data: bytes) -> dict[str, Any]:
    """Load a catalogue (columns kind, code, label, parent, sort, active; parents on earlier rows or already
    known): all rows or none. A bad row answers 422 naming it (`第 3 行`)."""
    if not actor.can("dictionary.edit"):
        raise NotPermitted("没有维护数据字典的权限")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("文件应为 UTF-8 编码的 CSV", {"file": "文件应为 UTF-8 编码的 CSV"}) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("kind", "code", "label") if c not in (reader.fieldnames or [])]
    if missing:
        message = f"缺少列:{'、'.join(missing)}(应有列 {','.join(COLUMNS)})"
        raise Invalid(message, {"file": message})
    added = changed = 0
    changes: list[dict[str, Any]] = []
    with platform.db.unit_of_work() as session:
        for number, raw in enumerate(reader, start=2):  # row 1 is the header
            errors: dict[str, str] = {}
            row = _fields(raw, errors)
            change = {} if errors else _apply(session, row, errors)
            if errors:
                session.rollback()
                message = f"第 {number} 行:" + ";".join(errors.values())
                raise Invalid(message, {f"row {number}": message})
            if change["before"] is None:
                added += 1
            elif change["before"] != change["after"]:
                changed += 1
            else:
                continue
            changes.append(change)
        if added == changed == 0 and reader.line_num <= 1:
            raise Invalid("文件中没有数据行", {"file": "文件中没有数据行"})
        audit.record(session, platform, actor, "dictionary.imported",
                     detail={"added": added, "changed": changed, "changes": changes})
        session.commit()
    return {"added": added, "changed": changed}
