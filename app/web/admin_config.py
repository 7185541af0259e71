"""/admin/dictionary and /admin/routing: the 系统管理员 keeps the data dictionary and the 派单目录."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import dictionary_admin, routing
from app.services.workstation import reference
from app.web.context import current_actor, platform, requires
from app.web.downloads import spreadsheet

bp = Blueprint("admin_config", __name__, url_prefix="/admin")


def _dictionary(kind: str, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                status: int = 200) -> ResponseReturnValue:
    if kind not in dictionary_admin.KINDS:
        kind = "category"
    return render_template("admin/dictionary.html", kind=kind, kinds=dictionary_admin.KINDS,
                           items=dictionary_admin.tree(platform(), kind), errors=errors or {},
                           v=values or {}), status


@bp.get("/dictionary")
@requires("dictionary.edit")
def dictionary_page() -> ResponseReturnValue:
    return _dictionary(request.args.get("kind") or "category")


@bp.post("/dictionary")
@requires("dictionary.edit")
def dictionary_save() -> ResponseReturnValue:
    values = {k: request.form.get(k, "") for k in ("kind", "code", "label", "parent", "sort")}
    values["active"] = request.form.get("active", "0")
    try:
        saved = dictionary_admin.save_entry(platform(), current_actor(), values)
    except Invalid as e:
        return _dictionary(values["kind"], e.details or {"__all__": e.message}, values, 422)
    flash(f"已保存 {saved['code']} {saved['label']}{'' if saved['active'] else '(已停用)'}", "ok")
    return redirect(url_for("admin_config.dictionary_page", kind=saved["kind"]))


@bp.post("/dictionary/import")
@requires("dictionary.edit")
def dictionary_import() -> ResponseReturnValue:
    upload = request.files.get("file")
    kind = request.form.get("kind") or "category"
    try:
        if upload is None or not upload.filename:
            raise Invalid("请选择要导入的 CSV 或 XLSX 文件", {"file": "请选择要导入的 CSV 或 XLSX 文件"})
        done = dictionary_admin.import_catalogue(platform(), current_actor(), upload.read(), upload.filename)
    except Invalid as e:
        return _dictionary(kind, {"file": e.message}, None, 422)
    flash(f"导入完成:共 {done['rows']} 行,新增 {done['added']} 条,修改 {done['changed']} 条,"
          f"未变 {done['unchanged']} 条", "ok")
    return redirect(url_for("admin_config.dictionary_page", kind=kind))


@bp.get("/dictionary/export.<any(csv, xlsx):fmt>")
@requires("dictionary.edit")
def dictionary_export(fmt: str) -> ResponseReturnValue:
    kind = request.args.get("kind") or None
    kind = kind if kind in dictionary_admin.KINDS else None
    data = dictionary_admin.export(platform(), current_actor(), kind, fmt)
    return spreadsheet(data, f"dictionary-{kind or 'all'}", fmt)


def _routing(errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
             tried: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    refs = reference(platform())
    categories = dictionary_admin.tree(platform(), "category")
    return render_template("admin/routing.html", rules=routing.list_rules(platform(), current_actor()),
                           units=refs["units"], categories=categories, modes=routing.MODES,
                           errors=errors or {}, v=values or {}, tried=tried), status


@bp.get("/routing")
@requires("dictionary.edit")
def routing_page() -> ResponseReturnValue:
    return _routing()


RULE_FIELDS = ("category", "area_unit_id", "lead_unit_id", "mode", "valid_from", "valid_to", "note")


@bp.post("/routing")
@requires("dictionary.edit")
def routing_save() -> ResponseReturnValue:
    values: dict[str, Any] = {k: request.form.get(k, "") for k in RULE_FIELDS}
    values["assisting_unit_ids"] = request.form.getlist("assisting_unit_ids")
    values["directly_designated"] = request.form.get("directly_designated", "")
    values["active"] = request.form.get("active", "1")
    rule_id = request.form.get("rule_id", type=int)
    try:
        saved = routing.save_rule(platform(), current_actor(), values, rule_id)
    except Invalid as e:
        return _routing(e.details or {"__all__": e.message}, values, status=422)
    flash(f"已保存派单目录规则:{saved['text']}", "ok")
    return redirect(url_for("admin_config.routing_page"))


@bp.post("/routing/try")
@requires("dictionary.edit")
def routing_try() -> ResponseReturnValue:
    values = {"try_category": request.form.get("category", ""), "try_area": request.form.get("area", "")}
    try:
        found = routing.try_route(platform(), current_actor(), values["try_category"], values["try_area"] or None)
    except Invalid as e:
        return _routing({f"try_{k}": m for k, m in (e.details or {}).items()}, values, status=422)
    return _routing(None, values, tried=found)
