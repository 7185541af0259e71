"""Administrators' pages: process definitions, the SMS outbox and the cases waiting in an incident."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import definitions, incidents, messages
from app.web.context import current_actor, platform

bp = Blueprint("admin", __name__, url_prefix="/admin")

STATUS_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}


@bp.get("/messages")
def message_list() -> ResponseReturnValue:
    status = request.args.get("status") or None
    items = messages.list_messages(platform(), current_actor(), status=status)
    return render_template("admin/messages.html", items=items, status=status, labels=STATUS_LABELS)


@bp.get("/incidents")
def incident_list() -> ResponseReturnValue:
    return render_template("admin/incidents.html", items=incidents.list_incidents(platform(), current_actor()))


@bp.get("/definitions")
def definition_list() -> ResponseReturnValue:
    return render_template("admin/definitions.html", items=definitions.list_definitions(platform(), current_actor()),
                           error=None)


@bp.post("/definitions")
def deploy_definition() -> ResponseReturnValue:
    """Upload a BPMN file (or a zip of it with its forms and library files) with a change note: a new version,
    or the reason why not; forms it omits come from the latest version of the same key."""
    upload = request.files.get("file")
    forms = {f.filename or "": f.read() for f in request.files.getlist("forms") if f.filename}
    library = {f.filename or "": f.read() for f in request.files.getlist("library") if f.filename}
    try:
        if upload is None or not upload.filename:
            raise Invalid("请选择要部署的 BPMN 文件", {"file": "请选择要部署的 BPMN 文件"})
        row = definitions.deploy_definition(platform(), current_actor(), upload.read(), forms, library,
                                            note=request.form.get("note"))
    except Invalid as e:
        items = definitions.list_definitions(platform(), current_actor())
        return render_template("admin/definitions.html", items=items, error=e.message), 422
    flash(f"已部署 {row.key} 第 {row.version} 版", "ok")
    return redirect(url_for("admin.definition_list"))
