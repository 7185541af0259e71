"""The unit tree, kept by the 系统管理员 (unit.manage): create, rename, move, merge, deactivate, import/export.

A unit is never deleted: a merged one is deactivated and names the unit it went into, and finished tasks
and closed cases keep pointing at it, so the history reads as it happened. `path` ('/1/4/9/') is
rewritten for a moved subtree in the same transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.orm import Session

from app.db import remembered
from app.errors import Conflict, Invalid, NotFound, NotPermitted
from app.models import (
    Case,
    CaseDeadline,
    HumanTask,
    RoutingRule,
    TaskEscalation,
    Unit,
    User,
    case_assisting_unit,
)
from app.services import audit, process, report_marks, tabular
from app.services.actors import Actor
from app.services.platform import Platform

KINDS = {"centre": "热线中心", "bureau": "委办局", "district": "区县", "section": "科室", "street": "街道"}
CODE = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def every_unit(session: Session) -> list[Unit]:
    """Every unit, merged and inactive ones too, by id: read once per transaction (after it, `session.get(Unit,
    …)` finds any of them loaded)."""
    return remembered(session, "units", lambda: list(session.scalars(select(Unit).order_by(Unit.id))))


@dataclass(frozen=True)
class UnitRow:
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    active: bool
    depth: int
    merged_into_id: int | None

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "code": self.code, "name": self.name, "kind": self.kind,
                "parent_id": self.parent_id, "active": self.active}


def _require(actor: Actor) -> None:
    if not actor.can("unit.manage"):
        raise NotPermitted("只有系统管理员可以维护组织机构")


def list_units(platform: Platform, *, active_only: bool = False) -> list[UnitRow]:
    """The whole tree in tree order (parents before children); the tree itself is no secret."""
    with platform.db.reading() as session:
        query = select(Unit).order_by(Unit.path)
        if active_only:
            query = query.where(Unit.active)
        return [UnitRow(u.id, u.code, u.name, u.kind, u.parent_id, u.active, u.path.count("/") - 2,
                        u.merged_into_id) for u in session.scalars(query)]


def _unit(session: Session, unit_id: int, field: str = "unit") -> Unit:
    unit = session.get(Unit, unit_id) if 0 < unit_id < 2**63 else None
    if unit is None:
        raise NotFound("单位不存在", {field: "单位不存在"})
    return unit


def _check(session: Session, code: str, name: str, kind: str, where: str = "") -> dict[str, str]:
    errors = {}
    if not CODE.fullmatch(code):
        errors["code"] = f"{where}编码应为 1 到 40 位字母、数字或 _.-"
    elif session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        errors["code"] = f"{where}编码已存在:{code}"
    if not name.strip() or len(name) > 100:
        errors["name"] = f"{where}名称应为 1 到 100 个字符"
    if kind not in KINDS:
        errors["kind"] = f"{where}类型只能是:" + "、".join(f"{k}({v})" for k, v in KINDS.items())
    return errors


def _add(session: Session, code: str, name: str, kind: str, parent: Unit | None) -> Unit:
    unit = Unit(code=code, name=name.strip(), kind=kind, parent=parent, path="")
    session.add(unit)
    session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    return unit


def create_unit(platform: Platform, actor: Actor, code: str, name: str, kind: str, parent_id: int | None) -> int:
    _require(actor)
    with platform.db.unit_of_work() as session:
        errors = _check(session, code, name, kind)
        parent = _unit(session, parent_id, "parent") if parent_id is not None else None
        if parent is not None and not parent.active:
            errors["parent"] = "上级单位已停用"
        if errors:
            raise Invalid(";".join(errors.values()), errors)
        unit = _add(session, code, name, kind, parent)
        audit.record(session, platform, actor, "unit.created",
                     detail={"unit": code, "before": None,
                             "after": {"name": unit.name, "kind": kind, "parent": parent.code if parent else None}})
        session.commit()
        return unit.id


def rename_unit(platform: Platform, actor: Actor, unit_id: int, name: str) -> None:
    _require(actor)
    if not name.strip() or len(name) > 100:
        raise Invalid("名称应为 1 到 100 个字符", {"name": "名称应为 1 到 100 个字符"})
    with platform.db.unit_of_work() as session:
        unit = _unit(session, unit_id)
        before, unit.name = unit.name, name.strip()
        audit.record(session, platform, actor, "unit.renamed",
                     detail={"unit": unit.code, "before": {"name": before}, "after": {"name": unit.name}})
        session.commit()


def move_unit(platform: Platform, actor: Actor, unit_id: int, parent_id: int) -> None:
    """Put a unit (with everything below it) under another; never under itself or its own subtree."""
    _require(actor)
    with platform.db.unit_of_work() as session:
        unit, parent = _unit(session, unit_id), _unit(session, parent_id, "parent")
        if parent.path.startswith(unit.path):
            raise Invalid("不能移到自身或其下级单位之下", {"parent": "不能移到自身或其下级单位之下"})
        if not parent.active:
            raise Invalid("上级单位已停用", {"parent": "上级单位已停用"})
        before = unit.parent.code if unit.parent else None
        old, new = unit.path, parent.path + f"{unit.id}/"
        for row in session.scalars(select(Unit).where(Unit.path.startswith(old))):
            row.path = new + row.path[len(old):]
        unit.parent = parent
        audit.record(session, platform, actor, "unit.moved",
                     detail={"unit": unit.code, "before": {"parent": before}, "after": {"parent": parent.code}})
        session.commit()


def _open_cases_at(session: Session, unit_id: int) -> list[int]:
    """Open cases that name the unit: as lead, as assisting unit, or with a ready task there."""
    lead = select(Case.id).where(Case.lead_unit_id == unit_id)
    assisting = select(case_assisting_unit.c.case_id).where(case_assisting_unit.c.unit_id == unit_id)
    tasked = select(HumanTask.case_id).where(HumanTask.unit_id == unit_id, HumanTask.state == "ready")
    return list(session.scalars(select(Case.id).where(Case.closed_at.is_(None),
                                                      Case.id.in_(lead.union(assisting, tasked)))
                                .order_by(Case.id)))


def _follow(session: Session, unit: Unit, into: Unit) -> dict[str, int]:
    """What else names the merged unit and is still in force: 派单目录 rules (lead, area, assisting), open
    cases' areas and deadline periods (the period goes on at the new unit, not afresh), escalations of
    ready tasks. Finished work keeps the old unit."""
    rules = 0
    for rule in session.scalars(select(RoutingRule)):  # a few hundred rows; assisting units are a JSON list
        assisting = list(rule.assisting_unit_ids or [])
        if unit.id not in assisting and unit.id not in (rule.lead_unit_id, rule.area_unit_id):
            continue
        rule.lead_unit_id = into.id if rule.lead_unit_id == unit.id else rule.lead_unit_id
        rule.area_unit_id = into.id if rule.area_unit_id == unit.id else rule.area_unit_id
        rule.assisting_unit_ids = [u for u in dict.fromkeys(into.id if u == unit.id else u for u in assisting)
                                   if u != rule.lead_unit_id]
        rules += 1
    open_cases = select(Case.id).where(Case.closed_at.is_(None))
    report_marks.mark_cases(session, Case.area_unit_id == unit.id, Case.closed_at.is_(None))
    areas = _count(session, update(Case).where(Case.area_unit_id == unit.id, Case.closed_at.is_(None))
                   .values(area_unit_id=into.id))
    periods = 0
    for period in session.scalars(select(CaseDeadline).where(CaseDeadline.unit_id == unit.id,
                                                             CaseDeadline.case_id.in_(open_cases))):
        clash = session.get(CaseDeadline, (period.case_id, period.rule_key, into.id))
        if clash is None:  # the new unit has no period of its own under this rule: this one goes on there
            period.unit_id = into.id
            periods += 1
    ready = select(HumanTask.id).where(HumanTask.state == "ready")
    escalations = _count(session, update(TaskEscalation).where(TaskEscalation.unit_id == unit.id,
                                                               TaskEscalation.task_id.in_(ready))
                         .values(unit_id=into.id))
    return {"rules": rules, "areas": areas, "deadlines": periods, "escalations": escalations}


def merge_unit(platform: Platform, actor: Actor, unit_id: int, into_id: int) -> dict[str, int]:
    """Merge a unit into another: its open tasks, open cases (lead or assisting, their processes' unit
    variables, areas and deadline periods), users, child units and 派单目录 rules follow; finished tasks
    and closed cases keep the old unit, so history reads under the old name. The old unit is deactivated."""
    _require(actor)
    with platform.db.unit_of_work() as session:
        unit, into = _unit(session, unit_id), _unit(session, into_id, "into")
        if into.path.startswith(unit.path):
            raise Invalid("不能并入自身或其下级单位", {"into": "不能并入自身或其下级单位"})
        if not unit.active or not into.active:
            raise Invalid("已停用的单位不能合并", {"into": "已停用的单位不能合并"})
        locked = [process.lock_case(session, case_id) for case_id in _open_cases_at(session, unit.id)]
        tasks = _count(session, update(HumanTask).where(HumanTask.unit_id == unit.id, HumanTask.state == "ready")
                        .values(unit_id=into.id))
        report_marks.mark_cases(session, Case.lead_unit_id == unit.id, Case.closed_at.is_(None))
        cases = _count(session, update(Case).where(Case.lead_unit_id == unit.id, Case.closed_at.is_(None))
                        .values(lead_unit_id=into.id))
        assisting = 0
        for case in session.scalars(select(Case).join(case_assisting_unit)
                                    .where(case_assisting_unit.c.unit_id == unit.id, Case.closed_at.is_(None))):
            case.assisting_units = [u for u in case.assisting_units if u.id != unit.id] + \
                ([] if any(u.id == into.id for u in case.assisting_units) or case.lead_unit_id == into.id else [into])
            assisting += 1
        users = _count(session, update(User).where(User.unit_id == unit.id).values(unit_id=into.id))
        children = list(session.scalars(select(Unit).where(Unit.parent_id == unit.id)))
        for child in children:
            old, new = child.path, into.path + f"{child.id}/"
            for row in session.scalars(select(Unit).where(Unit.path.startswith(old))):
                row.path = new + row.path[len(old):]
            child.parent = into
        processes = sum(process.reassign_unit(session, platform, case, unit.id, into.id) for case in locked)
        unit.active, unit.merged_into_id = False, into.id
        moved = {"tasks": tasks, "lead_cases": cases, "assisting_cases": assisting, "users": users,
                 "units": len(children), "processes": processes, **_follow(session, unit, into)}
        audit.record(session, platform, actor, "unit.merged",
                     detail={"unit": unit.code, "before": {"active": True, "merged_into": None},
                             "after": {"active": False, "merged_into": into.code}, "moved": moved})
        session.commit()
        return moved


def _count(session: Session, statement: Any) -> int:
    result = session.execute(statement)
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


def set_unit_active(platform: Platform, actor: Actor, unit_id: int, active: bool) -> None:
    """Deactivate (or reactivate) a unit; one still holding open tasks, active users or active child units
    is refused (409): merge it instead, or move those first."""
    _require(actor)
    with platform.db.unit_of_work() as session:
        unit = _unit(session, unit_id)
        if not active:
            held = {
                "待办": session.scalar(select(func.count()).select_from(HumanTask)
                                     .where(HumanTask.unit_id == unit.id, HumanTask.state == "ready")),
                "在用账号": session.scalar(select(func.count()).select_from(User)
                                       .where(User.unit_id == unit.id, User.active)),
                "启用的下级单位": session.scalar(select(func.count()).select_from(Unit)
                                          .where(Unit.parent_id == unit.id, Unit.active)),
            }
            if busy := [f"{label} {n} 个" for label, n in held.items() if n]:
                message = f"{unit.name}仍有" + "、".join(busy) + ",请先合并或移走"
                raise Conflict(message, {"unit": message})
        elif unit.parent is not None and not unit.parent.active:
            raise Invalid("上级单位已停用", {"unit": "上级单位已停用"})
        before, unit.active = unit.active, active
        audit.record(session, platform, actor, "unit.activated" if active else "unit.deactivated",
                     detail={"unit": unit.code, "before": {"active": before}, "after": {"active": active}})
        session.commit()


COLUMNS = ("编码", "名称", "类型", "上级编码")
MAX_ROWS = 10_000


def export_units(platform: Platform, actor: Actor, fmt: str = "csv") -> bytes:
    """The tree (active and not) in tree order as CSV or XLSX with the import's columns: it imports back."""
    _require(actor)
    rows = list_units(platform)
    codes = {u.id: u.code for u in rows}
    return tabular.write(fmt, COLUMNS, ([u.code, u.name, u.kind, codes.get(u.parent_id or 0, "")] for u in rows),
                         sheet="组织机构")


@dataclass
class _Planned:
    number: int
    code: str
    name: str
    kind: str
    parent: str
    generation: int = 0


def _plan_units(table: list[list[str]], by_code: dict[str, Unit]) -> tuple[list[_Planned], list[str]]:
    """Every row checked against the stored tree and the rows above it (no query); faults as '第 N 行 …'."""
    errors: list[str] = []
    planned: dict[str, _Planned] = {}
    kinds = "、".join(f"{k}({v})" for k, v in KINDS.items())
    for number, cells in tabular.without_header(table, "编码", "code"):
        where = f"第 {number} 行"
        if len(cells) > 4:
            errors.append(f"{where}:应为 4 列(编码,名称,类型,上级编码)")
            continue
        code, name, kind, parent = (cells + ["", "", "", ""])[:4]
        kind = next((k for k, v in KINDS.items() if kind in (k, v)), kind)  # 'bureau' or '委办局'
        if not CODE.fullmatch(code):
            errors.append(f"{where} 编码:应为 1 到 40 位字母、数字或 _.-")
            continue
        if code in planned:
            errors.append(f"{where} 编码:与第 {planned[code].number} 行重复:{code}")
            continue
        if not name or len(name) > 100:
            errors.append(f"{where} 名称:应为 1 到 100 个字符")
        if kind not in KINDS:
            errors.append(f"{where} 类型:只能是 {kinds}")
        row = _Planned(number, code, name, kind, parent)
        if parent:
            _place(row, by_code, planned, errors)
        planned[code] = row
    final = {code: (u.parent.code if u.parent else "") for code, u in by_code.items()} | \
        {code: r.parent for code, r in planned.items()}
    for row in planned.values():  # a stored unit put under its own subtree would make a loop
        node, hops = final.get(row.code), 0
        while node and hops <= len(final):
            if node == row.code:
                errors.append(f"第 {row.number} 行 上级编码:不能移到自身或其下级单位之下:{row.parent}")
                break
            node, hops = final.get(node), hops + 1
    if not planned and not errors:
        errors.append("文件中没有单位")
    return list(planned.values()), errors


def _place(row: _Planned, by_code: dict[str, Unit], planned: dict[str, _Planned], errors: list[str]) -> None:
    """The row's generation (new parents go in first), or its parent named as unknown or deactivated."""
    stored, above = by_code.get(row.parent), planned.get(row.parent)
    if row.parent == row.code:
        errors.append(f"第 {row.number} 行 上级编码:不能是自身")
    elif above is not None:
        row.generation = 0 if stored is not None else above.generation + 1
    elif (stored is None or not stored.active) and not _keeps_parent(by_code.get(row.code), row.parent):
        errors.append(f"第 {row.number} 行 上级编码:上级单位不存在或已停用(须已有或在前面的行):{row.parent[:40]}")


def _keeps_parent(unit: Unit | None, parent: str) -> bool:
    """A stored unit staying where it is (under a parent since deactivated, as an export lists it)."""
    return unit is not None and unit.parent is not None and unit.parent.code == parent


def import_units(platform: Platform, actor: Actor, data: bytes, filename: str = "") -> dict[str, int]:
    """Load the unit tree from CSV or XLSX (编码,名称,类型,上级编码 — the parent stored or on an earlier row).
    Every row is checked first; one fault refuses the whole file (422 naming each row and field). A unit
    already stored (same 编码) is updated — renamed, retyped, moved — so the same file again changes nothing;
    none is deleted. New units go in one tree level at a time (one insert each), in one transaction."""
    _require(actor)
    table = tabular.read_rows(data, filename, max_rows=MAX_ROWS + 1)
    with platform.db.unit_of_work() as session:
        by_code = {u.code: u for u in session.scalars(select(Unit))}
        planned, errors = _plan_units(table, by_code)
        if errors:
            shown = errors[:50]
            message = "文件未导入,请改正后重新上传:" + ";".join(shown) + \
                (f"(另有 {len(errors) - len(shown)} 处错误未列出)" if len(errors) > len(shown) else "")
            raise Invalid(message, {"file": message} | {f"row {i + 1}": e for i, e in enumerate(shown)})
        added: list[str] = []
        changed: list[dict[str, Any]] = []
        paths = {u.code: u.path for u in by_code.values()}
        for generation in sorted({r.generation for r in planned}):
            fresh: list[dict[str, Any]] = []
            for row in (r for r in planned if r.generation == generation):
                unit = by_code.get(row.code)
                if unit is None:
                    fresh.append({"code": row.code, "name": row.name, "kind": row.kind, "path": "",
                                  "parent_id": by_code[row.parent].id if row.parent else None})
                    added.append(row.code)
                else:
                    change = _update(session, unit, row, by_code)
                    if change:
                        changed.append(change)
                    paths[row.code] = unit.path
            if fresh:  # one multi-row INSERT … RETURNING, then one batch of path UPDATEs
                session.flush()
                made = session.execute(insert(Unit).returning(Unit.id, Unit.code), fresh).all()
                parent_of: dict[str, int | None] = {f["code"]: f["parent_id"] for f in fresh}
                by_id = {u.id: u.code for u in by_code.values()}
                for new_id, code in made:
                    parent = by_id.get(parent_of[code] or 0)
                    paths[code] = (paths[parent] if parent else "/") + f"{new_id}/"
                session.execute(update(Unit), [{"id": new_id, "path": paths[code]} for new_id, code in made])
                for unit in session.scalars(select(Unit).where(Unit.id.in_([i for i, _ in made]))):
                    by_code[unit.code] = unit
        audit.record(session, platform, actor, "unit.imported",
                     detail={"file": filename[:200], "rows": len(planned), "added": added, "changed": changed})
        session.commit()
    return {"rows": len(planned), "added": len(added), "changed": len(changed),
            "unchanged": len(planned) - len(added) - len(changed)}


def _update(session: Session, unit: Unit, row: _Planned, by_code: dict[str, Unit]) -> dict[str, Any] | None:
    """A stored unit made as the row says (a move rewrites its subtree's paths); before/after, or None."""
    old_parent = unit.parent.code if unit.parent else ""
    before = {"name": unit.name, "kind": unit.kind, "parent": old_parent}
    after = {"name": row.name, "kind": row.kind, "parent": row.parent}
    if before == after:
        return None
    unit.name, unit.kind = row.name, row.kind
    if row.parent != old_parent:
        parent = by_code[row.parent] if row.parent else None
        old, new = unit.path, (parent.path if parent else "/") + f"{unit.id}/"
        for below in session.scalars(select(Unit).where(Unit.path.startswith(old))):
            below.path = new + below.path[len(old):]
        unit.parent = parent
    return {"unit": unit.code, "before": {k: v for k, v in before.items() if after[k] != v},
            "after": {k: v for k, v in after.items() if before[k] != v}}
