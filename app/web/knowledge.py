"""知识库 pages for staff: /knowledge (search, filters, review tasks), /knowledge/<id> (the entry's stable URL),
editing and its states, 答复不准确, CSV/XLSX import and export, the intake page's suggestions and the editor's
preview (JSON) and the administrator's synonyms. The services check permissions; these routes only map the answers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate

from app.errors import Conflict, Invalid
from app.services import knowledge, knowledge_desk, knowledge_files, knowledge_io, tabular
from app.services.attachments import Upload
from app.services.workstation import knowledge_pages
from app.web.api.schemas import load
from app.web.context import current_actor, platform
from app.web.downloads import file_response

bp = Blueprint("knowledge", __name__)


class SuggestQuery(Schema):
    """What the intake page posts while the agent types (JSON, so the caller's words stay out of access logs)."""

    class Meta:
        unknown = EXCLUDE

    content = fields.String(load_default="", validate=validate.Length(max=20000))
    category = fields.String(load_default="", validate=validate.Length(max=80))


def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdecimal() and value.isascii() and len(value) < 10 else None


@bp.get("/knowledge")
def knowledge_list() -> ResponseReturnValue:
    q, category, state = (request.args.get(n, "")[:200] for n in ("q", "category", "state"))
    unit = _int("unit")
    found = knowledge_pages.list_page(platform(), current_actor(), q=q, category=category, unit=unit, state=state,
                                      page=_int("page") or 1)
    filters = {"q": q, "category": category, "unit": unit, "state": state}
    return render_template("knowledge/list.html", k=found, filters=filters)


def _edit(entry_id: int | None, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> ResponseReturnValue:
    form = knowledge_pages.edit_form(platform(), current_actor(), entry_id)
    return render_template("knowledge/edit.html", entry_id=entry_id, f=form, v=values or form["values"],
                           errors=errors or {}), status


@bp.get("/knowledge/new")
def knowledge_new() -> ResponseReturnValue:
    return _edit(None)


def _posted() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in knowledge.FIELDS}


@bp.post("/knowledge")
def knowledge_create() -> ResponseReturnValue:
    values = _posted()
    try:
        saved = knowledge.create_entry(platform(), current_actor(), values)
    except Invalid as e:
        return _edit(None, values, e.details or {"__all__": e.message}, 422)
    flash("已保存为草稿。提交审核后由热线中心审核发布。", "ok")
    return redirect(url_for("knowledge.knowledge_entry", entry_id=saved["id"]))


@bp.get("/knowledge/<int:entry_id>")
def knowledge_entry(entry_id: int) -> ResponseReturnValue:
    return render_template("knowledge/entry.html", e=knowledge_pages.entry_page(platform(), current_actor(), entry_id))


@bp.get("/knowledge/<int:entry_id>/edit")
def knowledge_edit(entry_id: int) -> ResponseReturnValue:
    return _edit(entry_id)


@bp.post("/knowledge/<int:entry_id>")
def knowledge_update(entry_id: int) -> ResponseReturnValue:
    values = _posted()
    try:
        saved = knowledge.update_entry(platform(), current_actor(), entry_id, values)
    except Invalid as e:
        return _edit(entry_id, values, e.details or {"__all__": e.message}, 422)
    flash("已保存。" + ("修改后的条目需重新审核发布。" if saved["state"] == "pending" else ""), "ok")
    return redirect(url_for("knowledge.knowledge_entry", entry_id=entry_id))


@bp.post("/knowledge/<int:entry_id>/state")
def knowledge_state(entry_id: int) -> ResponseReturnValue:
    try:
        knowledge.change_state(platform(), current_actor(), entry_id, request.form.get("action", ""),
                               request.form.get("note", ""))
        flash("已更新条目状态。", "ok")
    except (Invalid, Conflict) as e:
        flash(e.message, "error")
    return redirect(url_for("knowledge.knowledge_entry", entry_id=entry_id))


@bp.post("/knowledge/<int:entry_id>/confirm")
def knowledge_confirm(entry_id: int) -> ResponseReturnValue:
    try:
        knowledge.confirm_entry(platform(), current_actor(), entry_id)
        flash("已确认该条目仍然有效,复核日期重新起算。", "ok")
    except Conflict as e:
        flash(e.message, "error")
    return redirect(request.form.get("back") == "worklist" and url_for("pages.worklist")
                    or url_for("knowledge.knowledge_entry", entry_id=entry_id))


@bp.post("/knowledge/<int:entry_id>/attachments")
def knowledge_attach(entry_id: int) -> ResponseReturnValue:
    """附件 (a form, a map): images and PDFs, checked by content on the server."""
    files = [Upload(f.filename or "", f.read()) for f in request.files.getlist("attachments") if f.filename]
    try:
        done = knowledge_files.add_files(platform(), current_actor(), entry_id, files)
    except Invalid as e:
        page = knowledge_pages.entry_page(platform(), current_actor(), entry_id)
        return render_template("knowledge/entry.html", e=page, upload_error=e.message), 422
    flash(f"已上传 {len(done['attachments'])} 个附件。" + ("修改后的条目需重新审核发布。" if done["state"] == "pending"
                                                        else ""), "ok")
    return redirect(url_for("knowledge.knowledge_entry", entry_id=entry_id))


@bp.post("/knowledge/<int:entry_id>/attachments/<int:attachment_id>/delete")
def knowledge_detach(entry_id: int, attachment_id: int) -> ResponseReturnValue:
    knowledge_files.remove_file(platform(), current_actor(), entry_id, attachment_id)
    flash("已删除附件。", "ok")
    return redirect(url_for("knowledge.knowledge_entry", entry_id=entry_id))


@bp.get("/knowledge/<int:entry_id>/attachments/<int:attachment_id>")
def knowledge_attachment(entry_id: int, attachment_id: int) -> ResponseReturnValue:
    """An attachment, for whoever may read the entry (404 otherwise); always a download."""
    found = knowledge_files.read_file(platform(), current_actor(), entry_id, attachment_id)
    return file_response(found.data, found.content_type, found.filename)


@bp.post("/knowledge/<int:entry_id>/feedback")
def knowledge_feedback(entry_id: int) -> ResponseReturnValue:
    """答复不准确: JSON from the intake page, or the entry page's form."""
    body: dict[str, Any] = request.get_json(silent=True) if request.is_json else request.form  # type: ignore[assignment]
    done = knowledge_desk.report_inaccurate(platform(), current_actor(), entry_id, str((body or {}).get("note", "")))
    if request.is_json:
        return jsonify(done), 201
    flash("已将反馈发送给该条目的所属单位。", "ok")
    return redirect(url_for("knowledge.knowledge_entry", entry_id=entry_id))


@bp.post("/knowledge/<int:entry_id>/feedback/<int:feedback_id>/resolve")
def knowledge_feedback_resolve(entry_id: int, feedback_id: int) -> ResponseReturnValue:
    try:
        knowledge_desk.resolve_feedback(platform(), current_actor(), entry_id, feedback_id)
        flash("已将该反馈标记为已处理。", "ok")
    except Conflict as e:
        flash(e.message, "error")
    return redirect(url_for("knowledge.knowledge_entry", entry_id=entry_id))


@bp.post("/knowledge/suggest")
def knowledge_suggest() -> ResponseReturnValue:
    """JSON for the intake page: entries for the case being typed (the same service as the API's suggest)."""
    typed = load(SuggestQuery())
    return jsonify(knowledge_desk.suggest(platform(), current_actor(), typed["content"], category=typed["category"]))


@bp.post("/knowledge/preview")
def knowledge_preview() -> ResponseReturnValue:
    """JSON for the entry editor: the answer as the server will save it (sanitised), for the live preview."""
    return jsonify(knowledge.preview_answer(current_actor(), request.get_json(silent=True)))


@bp.get("/knowledge/export.<any(csv, xlsx):kind>")
def knowledge_export(kind: str) -> ResponseReturnValue:
    data = knowledge_io.export_file(platform(), current_actor(), kind)
    return Response(data, mimetype=tabular.FORMATS[kind],
                    headers={"Content-Disposition": f"attachment; filename=knowledge.{kind}"})


@bp.post("/knowledge/import")
def knowledge_import() -> ResponseReturnValue:
    upload = request.files.get("file")
    try:
        done = knowledge_io.import_file(platform(), current_actor(), upload.read() if upload else b"",
                                        (upload.filename or "") if upload else "",
                                        publish=request.form.get("publish") == "1")
        flash(f"导入完成:新增 {done['added']} 条。", "ok")
    except Invalid as e:
        flash(e.message, "error")
    return redirect(url_for("knowledge.knowledge_list"))


@bp.get("/admin/synonyms")
def synonyms_page() -> ResponseReturnValue:
    groups = knowledge.synonym_groups(platform(), current_actor())
    return render_template("knowledge/synonyms.html", text="\n".join(groups), error="")


@bp.post("/admin/synonyms")
def synonyms_save() -> ResponseReturnValue:
    text = request.form.get("synonyms", "")[:600_000]
    try:
        done = knowledge.save_synonyms(platform(), current_actor(), text)
    except Invalid as e:
        return render_template("knowledge/synonyms.html", text=text, error=e.message), 422
    flash(f"已保存 {done['groups']} 组同义词,重新索引 {done['reindexed']} 个条目。", "ok")
    return redirect(url_for("knowledge.synonyms_page"))
