"""The unit tree, kept by the 系统管理员 (unit.manage): create, rename, move, merge, deactivate, import.

A unit is never deleted: a merged one is deactivated and names the unit it went into, and finished tasks
and closed cases keep pointing at it, so the history reads as it happened. `path` ('/1/4/9/') is
rewritten for a moved subtree in the same transaction."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from app.db import remembered
from app.errors import Conflict, Invalid, NotFound, NotPermitted
from app.models import Case, HumanTask, Unit, User, case_assisting_unit
from app.services import audit
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


def merge_unit(platform: Platform, actor: Actor, unit_id: int, into_id: int) -> dict[str, int]:
    """Merge a unit into another: its open tasks, open cases (lead or assisting), users and child units
    follow; finished tasks and closed cases keep the old unit (history). The old unit is deactivated."""
    _require(actor)
    with platform.db.unit_of_work() as session:
        unit, into = _unit(session, unit_id), _unit(session, into_id, "into")
        if into.path.startswith(unit.path):
            raise Invalid("不能并入自身或其下级单位", {"into": "不能并入自身或其下级单位"})
        if not unit.active or not into.active:
            raise Invalid("已停用的单位不能合并", {"into": "已停用的单位不能合并"})
        tasks = _count(session, update(HumanTask).where(HumanTask.unit_id == unit.id, HumanTask.state == "ready")
                        .values(unit_id=into.id))
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
        unit.active, unit.merged_into_id = False, into.id
        moved = {"tasks": tasks, "lead_cases": cases, "assisting_cases": assisting, "users": users,
                 "units": len(children)}
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


def import_units(platform: Platform, actor: Actor, data: str) -> int:
    """Bulk creation from CSV (编码,名称,类型,上级编码 — the parent an existing unit or an earlier row);
    one bad row and nothing is stored (422 naming the row)."""
    _require(actor)
    rows = [r for r in csv.reader(io.StringIO(data.lstrip("\ufeff"))) if any(c.strip() for c in r)]
    if rows and rows[0] and rows[0][0].strip() in ("编码", "code"):
        rows = rows[1:]
    if not rows or len(rows) > 10000:
        raise Invalid("CSV 应有 1 到 10000 个单位", {"file": "CSV 应有 1 到 10000 个单位"})
    with platform.db.unit_of_work() as session:
        for n, cells in enumerate(rows, start=1):
            where = f"第 {n} 行:"
            if len(cells) != 4:
                raise Invalid(f"{where}应有 4 列(编码,名称,类型,上级编码)", {"file": f"{where}应有 4 列"})
            code, name, kind, parent_code = (c.strip() for c in cells)
            session.flush()
            errors = _check(session, code, name, kind, where)
            parent = session.scalar(select(Unit).where(Unit.code == parent_code)) if parent_code else None
            if parent_code and (parent is None or not parent.active):
                errors["parent"] = f"{where}上级单位不存在或已停用:{parent_code[:40]}"
            if errors:
                raise Invalid(";".join(errors.values()), {"file": ";".join(errors.values()), **errors})
            _add(session, code, name, kind, parent)
        audit.record(session, platform, actor, "unit.imported", detail={"units": len(rows)})
        session.commit()
    return len(rows)
