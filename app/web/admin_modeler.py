"""The process editor's pages and the calls its script makes with the administrator's session (CSRF in the
X-CSRFToken header). Each call is the service the API's /api/v1/definitions/… answers with (docs/modeler-api.md)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.errors import Invalid, NotPermitted
from app.services import case_migrations, definitions, dry_run, modeler, modeler_page
from app.web.context import current_actor, platform
from app.web.forms_render import fields_of

bp = Blueprint("modeler", __name__, url_prefix="/admin")

# bpmn-js and its properties panel set style attributes in the markup they build; scripts stay 'self' only.
EDITOR_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"


@bp.before_request
def _deployers_only() -> None:
    """Every call here is the 系统管理员's: refuse anyone else before reading what they sent (the services
    check again)."""
    if not current_actor().can("definition.deploy"):
        raise NotPermitted("只有系统管理员可以编辑流程定义")


def _editor_page(html: str) -> Response:
    return Response(html, headers={"Content-Security-Policy": EDITOR_CSP})


@bp.get("/definitions/<key>/edit")
def edit(key: str) -> ResponseReturnValue:
    data = modeler_page.editor_data(platform(), current_actor(), key)
    return _editor_page(render_template("admin/modeler.html", data={**data, "base": f"/admin/definitions/{key}/edit"}))


@bp.get("/definitions/new")
def new() -> ResponseReturnValue:
    data = modeler_page.editor_data(platform(), current_actor(), None)
    return _editor_page(render_template("admin/modeler.html", data={**data, "base": "/admin/definitions/new"}))


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("请求内容须为 JSON 对象", {"body": "须为 JSON 对象"})
    return body


def _draft() -> tuple[bytes, dict[str, bytes]]:
    """The editor's BPMN text and forms (file name → JSON text) as the services take uploads."""
    body = _body()
    bpmn, forms = body.get("bpmn"), body.get("forms") or {}
    if not isinstance(bpmn, str) or not bpmn.strip():
        raise Invalid("没有流程图", {"bpmn": "请提交 BPMN"})
    if not isinstance(forms, dict) or not all(isinstance(v, str) for v in forms.values()):
        raise Invalid("表单格式有误", {"forms": "须为 文件名 → JSON 文本"})
    return bpmn.encode("utf-8"), {str(name): text.encode("utf-8") for name, text in forms.items()}


@bp.post("/definitions/<key>/edit/check")
@bp.post("/definitions/new/check")
def check(key: str | None = None) -> ResponseReturnValue:
    bpmn, forms = _draft()
    return jsonify(definitions.check_draft(platform(), current_actor(), bpmn, forms))


@bp.post("/definitions/<key>/edit/dry-run")
@bp.post("/definitions/new/dry-run")
def run_dry(key: str | None = None) -> ResponseReturnValue:
    bpmn, forms = _draft()
    answers = _body().get("answers") or {}
    if not isinstance(answers, dict):
        raise Invalid("试运行的回答须为 JSON 对象", {"answers": "须为以任务名为键的对象"})
    return jsonify(dry_run.dry_run(platform(), current_actor(), bpmn, forms, {}, answers))


@bp.post("/definitions/<key>/edit/deploy")
@bp.post("/definitions/new/deploy")
def deploy(key: str | None = None) -> ResponseReturnValue:
    bpmn, forms = _draft()
    body = _body()
    note = str(body.get("note") or "").strip()
    accepted = str(body.get("warnings_comment") or "").strip()
    if accepted:
        note = f"{note}(接受警告:{accepted})"
    row = definitions.deploy_definition(platform(), current_actor(), bpmn, forms, {}, note=note)
    return jsonify(key=row.key, version=row.version, note=row.note), 201


@bp.put("/definitions/<key>/edit/draft")
def save_draft(key: str) -> ResponseReturnValue:
    body = _body()
    forms = body.get("forms") or {}
    try:
        parsed = {name: json.loads(text) for name, text in forms.items()} if isinstance(forms, dict) else forms
    except (TypeError, ValueError):
        raise Invalid("表单不是有效的 JSON", {"forms": "不是有效的 JSON"}) from None
    return jsonify(modeler.save_draft(platform(), current_actor(), key, str(body.get("bpmn") or ""), parsed))


@bp.post("/definitions/<key>/edit/check-script")
@bp.post("/definitions/new/check-script")
def check_script(key: str | None = None) -> ResponseReturnValue:
    body = _body()
    source, mode = str(body.get("source") or ""), str(body.get("mode") or "exec")
    return jsonify(modeler.check_script(current_actor(), source, mode))


@bp.post("/definitions/<key>/edit/timer-preview")
@bp.post("/definitions/new/timer-preview")
def timer_preview(key: str | None = None) -> ResponseReturnValue:
    body = _body()
    return jsonify(modeler.timer_preview(platform(), current_actor(), str(body.get("kind") or ""),
                                         str(body.get("value") or "")))


@bp.post("/definitions/<key>/edit/form-preview")
@bp.post("/definitions/new/form-preview")
def form_preview(key: str | None = None) -> ResponseReturnValue:
    """The form as a handler will see it, rendered by the platform's own renderer."""
    schema = _body().get("schema")
    if not isinstance(schema, dict):
        raise Invalid("表单须为 JSON 对象", {"schema": "须为 JSON 对象"})
    html = render_template("admin/_form_preview.html", schema=schema, fields=fields_of(schema))
    return jsonify(html=html)


@bp.get("/definitions/<key>/versions/<int:version>/zip")
def version_zip(key: str, version: int) -> ResponseReturnValue:
    data = definitions.version_zip(platform(), current_actor(), key, version)
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{key}-v{version}.zip"'})


def _version_number(name: str, key: str, back: int = 0) -> int:
    """A version from the query; absent: the newest (or the one `back` before it), read with the caller's rights."""
    raw = request.args.get(name)
    if raw is None:
        versions = [v["version"] for v in definitions.list_versions(platform(), current_actor(), key)]
        return versions[min(back, len(versions) - 1)]
    if not raw.isdigit() or not 0 < int(raw) < 10**6:
        raise Invalid(f"{name} 须为版本号", {name: "须为版本号"})
    return int(raw)


@bp.get("/definitions/<key>/diff")
def diff(key: str) -> ResponseReturnValue:
    """Two versions side by side: what was added, removed and changed, coloured on the diagrams and listed."""
    first, second = _version_number("first", key, back=1), _version_number("second", key)
    summary = definitions.diff_versions(platform(), current_actor(), key, first, second)
    old = definitions.version_files(platform(), current_actor(), key, first)["bpmn"]
    new = definitions.version_files(platform(), current_actor(), key, second)["bpmn"]
    return _editor_page(render_template("admin/definition_diff.html", summary=summary, key=key,
                                        diagrams={"old": old, "new": new, **summary}))


@bp.get("/definitions/<key>/migrations")
def migrations(key: str) -> ResponseReturnValue:
    to = _version_number("to", key)
    return render_template("admin/definition_migrations.html", key=key,
                           groups=case_migrations.migration_groups(platform(), current_actor(), key, to))


@bp.post("/definitions/<key>/migrations")
def migrate(key: str) -> ResponseReturnValue:
    to = _version_number("to", key)
    raw = request.form.getlist("case_ids")
    if not raw or not all(r.isdigit() for r in raw):
        raise Invalid("请选择要迁移的诉求件", {"case_ids": "请选择要迁移的诉求件"})
    result = case_migrations.migrate_cases(platform(), current_actor(), key, to, [int(r) for r in raw])
    for item in result["items"]:
        if item["migrated"]:
            flash(f"诉求件 #{item['case_id']} 已迁移到第 {to} 版", "ok")
        else:
            flash(f"诉求件 #{item['case_id']} 未迁移:{item['reason']}", "error")
    return redirect(url_for("modeler.migrations", key=key, to=to))
