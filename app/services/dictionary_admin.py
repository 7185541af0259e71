"""Keeping the data dictionary: add, edit, enable/disable entries, and CSV/XLSX import/export of a city's catalogue.

An entry is never deleted (old cases carry its code): a retired one is disabled. Every change is audited
with before/after. An import checks every row first; one bad row refuses the whole file, naming the row.
Readers (intake, dispatch, reports) query the table on each use, so a change shows on the next request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.errors import Invalid, NotPermitted
from app.models import DictionaryEntry
from app.services import audit, tabular
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


HEADERS = {"kind": "kind", "类别": "kind", "code": "code", "编码": "code", "label": "label", "名称": "label",
           "parent": "parent", "上级编码": "parent", "上级": "parent", "sort": "sort", "排序": "sort",
           "active": "active", "启用": "active"}
FIELD_NAMES = {"kind": "类别", "code": "编码", "label": "名称", "parent": "上级编码", "sort": "排序", "active": "启用"}
FIXED_KINDS = {"case_status"}  # codes the application defines: a file may rename them, never add one
MAX_ROWS = 20_000
MAX_ERRORS = 50


def export(platform: Platform, actor: Actor, kind: str | None = None, fmt: str = "csv") -> bytes:
    """Every entry (or one kind's) as CSV (BOM, for Excel) or XLSX, parents before children; imports back."""
    if not actor.can("dictionary.edit"):
        raise NotPermitted("没有维护数据字典的权限")
    rows = [[r["kind"], r["code"], r["label"], r["parent"] or "", r["sort"], 1 if r["active"] else 0]
            for k in ([kind] if kind else list(KINDS)) for r in tree(platform, k)]
    return tabular.write(fmt, COLUMNS, rows, sheet="数据字典")


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        field = HEADERS.get(name.strip().lower()) or HEADERS.get(name.strip())
        if field and field not in columns:
            columns[field] = i
    missing = [c for c in ("kind", "code", "label") if c not in columns]
    if missing:
        message = f"第 1 行应为表头,缺少列:{'、'.join(missing)}(应有列 {','.join(COLUMNS)})"
        raise Invalid(message, {"file": message})
    return columns


def _refusal(errors: list[tuple[int, str, str]]) -> Invalid:
    shown = errors[:MAX_ERRORS]
    lines = [f"第 {n} 行 {FIELD_NAMES.get(field, field)}:{message}" for n, field, message in shown]
    more = f"(另有 {len(errors) - len(shown)} 处错误未列出)" if len(errors) > len(shown) else ""
    return Invalid("文件未导入,请改正后重新上传:" + ";".join(lines) + more,
                   {f"row {n} {field}": line for (n, field, _), line in zip(shown, lines, strict=True)})


def import_catalogue(platform: Platform, actor: Actor, data: bytes, filename: str = "") -> dict[str, Any]:
    """Load a catalogue from CSV or XLSX (header row, then kind, code, label, parent, sort, active; parents on
    earlier rows or already known): every row is checked first, and one fault refuses the whole file (422,
    each fault by row and field); else all rows in one transaction. The same file again changes nothing
    (entries are matched by kind and code); an entry missing from the file is left as it is, never deleted.
    Batched: the kinds' entries are read once and new ones inserted one tree level at a time."""
    if not actor.can("dictionary.edit"):
        raise NotPermitted("没有维护数据字典的权限")
    table = tabular.read_rows(data, filename, max_rows=MAX_ROWS + 1)
    columns = _columns(table[0])
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[tuple[int, str, str]] = []
    for number, cells in enumerate(table[1:], start=2):
        values = {f: cells[i] if i < len(cells) else "" for f, i in columns.items()}
        found: dict[str, str] = {}
        row = _fields(values, found)
        errors.extend((number, field, message) for field, message in found.items())
        rows.append((number, row))
    if not rows:
        raise Invalid("文件中没有数据行", {"file": "文件中没有数据行"})
    with platform.db.unit_of_work() as session:
        kinds = sorted({r["kind"] for _, r in rows if r["kind"] in KINDS})
        known = {(e.kind, e.code): e for e in session.scalars(
            select(DictionaryEntry).where(DictionaryEntry.kind.in_(kinds)))}
        codes = {e.id: e.code for e in known.values()}
        plan = _plan(rows, known, codes, errors)
        if errors:
            raise _refusal(sorted(errors))
        added, changes = _write(session, plan, known, codes)
        changed = sum(1 for c in changes if c["before"] is not None)
        audit.record(session, platform, actor, "dictionary.imported",
                     detail={"file": filename[:200], "rows": len(rows), "added": len(changes) - changed,
                             "changed": changed, "changes": changes})
        session.commit()
    return {"rows": len(rows), "added": added, "changed": changed, "unchanged": len(rows) - added - changed}


def _plan(rows: list[tuple[int, dict[str, Any]]], known: dict[tuple[str, str], DictionaryEntry],
          codes: dict[int, str], errors: list[tuple[int, str, str]]) -> list[tuple[dict[str, Any], int]]:
    """Each good row with its generation (0: its parent is already stored or none; n: its parent is new in
    the file at generation n-1); faults (duplicates, unknown parents, loops) appended to `errors`."""
    seen: dict[tuple[str, str], int] = {}
    generation: dict[tuple[str, str], int] = {}
    parents = {key: codes.get(e.parent_id or 0) for key, e in known.items()}
    plan = []
    for number, row in rows:
        key, parent = (row["kind"], row["code"]), row["parent"]
        if row["kind"] not in KINDS:
            continue
        if key in seen:
            errors.append((number, "code", f"编码与第 {seen[key]} 行重复:{row['code']}"))
            continue
        seen[key] = number
        if row["kind"] in FIXED_KINDS and key not in known:
            errors.append((number, "code", f"{KINDS[row['kind']]}由系统定义,只能改名或调整排序,不能新增:{row['code']}"))
            continue
        level = 0
        if parent:
            parent_key = (row["kind"], parent)
            if parent == row["code"]:
                errors.append((number, "parent", "上级编码不能是自身"))
                continue
            if parent_key in generation:
                level = generation[parent_key] + 1 if parent_key not in known else 0
            elif parent_key not in known:
                errors.append((number, "parent", f"上级编码不存在(须已在字典中或在前面的行):{parent[:80]}"))
                continue
        generation[key] = level
        parents[key] = parent or None
        plan.append((row, level))
    for row, _ in plan:  # an existing entry moved under its own subtree would make a loop
        key, hops = (row["kind"], row["code"]), 0
        node = parents.get(key)
        while node is not None and hops <= len(parents):
            if node == row["code"]:
                errors.append((seen[key], "parent", f"上级编码会形成循环:{row['parent']}"))
                break
            node, hops = parents.get((row["kind"], node)), hops + 1
    return plan


def _write(session: Session, plan: list[tuple[dict[str, Any], int]], known: dict[tuple[str, str], DictionaryEntry],
           codes: dict[int, str]) -> tuple[int, list[dict[str, Any]]]:
    """Insert the new entries a generation at a time (one multi-row INSERT … RETURNING each: the ORM's unit of
    work would insert a self-referencing table row by row) and update the changed ones."""
    ids = {key: e.id for key, e in known.items()}
    changes: list[dict[str, Any]] = []
    added = 0
    for level in sorted({g for _, g in plan}):
        fresh = []
        for row, g in plan:
            if g != level:
                continue
            key = (row["kind"], row["code"])
            parent_id = ids[(row["kind"], row["parent"])] if row["parent"] else None
            entry = known.get(key)
            if entry is None:
                fresh.append({"kind": row["kind"], "code": row["code"], "label": row["label"],
                              "parent_id": parent_id, "sort": row["sort"], "active": row["active"]})
                changes.append({"before": None, "after": {k: row[k] for k in ("kind", "code", "label", "parent")}})
                continue
            before = _entry(entry, codes)
            entry.label, entry.parent_id, entry.sort, entry.active = row["label"], parent_id, row["sort"], row["active"]
            after = _entry(entry, codes)
            if after != before:
                changes.append({"before": {k: v for k, v in before.items() if after[k] != v or k in ("kind", "code")},
                                "after": {k: v for k, v in after.items() if before[k] != v or k in ("kind", "code")}})
        if fresh:
            session.flush()  # the changed rows first
            for kind, code, new_id in session.execute(insert(DictionaryEntry).returning(
                    DictionaryEntry.kind, DictionaryEntry.code, DictionaryEntry.id), fresh):
                ids[(kind, code)], codes[new_id] = new_id, code
        added += len(fresh)
    return added, changes
