"""The 系统管理员's unit tree (/admin/units): create, rename, move, merge into another, deactivate, import."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import units
from app.web.context import current_actor, platform, requires
from app.web.downloads import spreadsheet, uploaded

bp = Blueprint("admin_units", __name__, url_prefix="/admin/units")


def _page(status: int = 200, error: Invalid | None = None) -> ResponseReturnValue:
    items = units.list_units(platform())
    names = {u.id: u.name for u in items}
    return render_template("admin/units.html", items=items, names=names, kinds=units.KINDS, error=error,
                           form=request.form if status != 200 else {}), status


def _id(field: str) -> int:
    try:
        return int(request.form.get(field, ""))
    except ValueError as e:
        raise Invalid("请选择单位", {field: "请选择单位"}) from e


def _done(message: str) -> ResponseReturnValue:
    flash(message, "ok")
    return redirect(url_for("admin_units.unit_list"))


@bp.get("")
@requires("unit.manage")
def unit_list() -> ResponseReturnValue:
    return _page()


@bp.post("")
@requires("unit.manage")
def create_unit() -> ResponseReturnValue:
    try:
        parent = _id("parent") if request.form.get("parent") else None
        units.create_unit(platform(), current_actor(), request.form.get("code", "").strip(),
                          request.form.get("name", ""), request.form.get("kind", ""), parent)
    except Invalid as e:
        return _page(422, e)
    return _done("已新建单位")


@bp.post("/<int:unit_id>/rename")
@requires("unit.manage")
def rename(unit_id: int) -> ResponseReturnValue:
    try:
        units.rename_unit(platform(), current_actor(), unit_id, request.form.get("name", ""))
    except Invalid as e:
        return _page(422, e)
    return _done("已改名")


@bp.post("/<int:unit_id>/move")
@requires("unit.manage")
def move(unit_id: int) -> ResponseReturnValue:
    try:
        units.move_unit(platform(), current_actor(), unit_id, _id("parent"))
    except Invalid as e:
        return _page(422, e)
    return _done("已移动")


@bp.post("/<int:unit_id>/merge")
@requires("unit.manage")
def merge(unit_id: int) -> ResponseReturnValue:
    try:
        moved = units.merge_unit(platform(), current_actor(), unit_id, _id("into"))
    except Invalid as e:
        return _page(422, e)
    return _done(f"已合并:转移待办 {moved['tasks']} 件、主办件 {moved['lead_cases']} 件、协办件 "
                 f"{moved['assisting_cases']} 件(其中流程 {moved['processes']} 个)、账号 {moved['users']} 个、"
                 f"下级单位 {moved['units']} 个、派单目录规则 {moved['rules']} 条")


@bp.post("/<int:unit_id>/deactivate")
@requires("unit.manage")
def deactivate(unit_id: int) -> ResponseReturnValue:
    units.set_unit_active(platform(), current_actor(), unit_id, False)
    return _done("已停用单位")


@bp.post("/<int:unit_id>/activate")
@requires("unit.manage")
def activate(unit_id: int) -> ResponseReturnValue:
    units.set_unit_active(platform(), current_actor(), unit_id, True)
    return _done("已启用单位")


@bp.post("/import")
@requires("unit.manage")
def import_units() -> ResponseReturnValue:
    data, filename = uploaded()
    try:
        done = units.import_units(platform(), current_actor(), data, filename)
    except Invalid as e:
        return _page(422, e)
    return _done(f"已导入:共 {done['rows']} 行,新增 {done['added']} 个单位,修改 {done['changed']} 个,"
                 f"未变 {done['unchanged']} 个")


@bp.get("/export.<any(csv, xlsx):fmt>")
@requires("unit.manage")
def export_units(fmt: str) -> ResponseReturnValue:
    return spreadsheet(units.export_units(platform(), current_actor(), fmt), "units", fmt)
