"""System administrators' API: process definitions (deploy, versions, files, check, dry run, diff, drafts,
moving running cases), the incidents they run into, the SMS outbox. Shapes: docs/modeler-api.md."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate

from app.errors import Invalid
from app.services import case_migrations, definitions, dry_run, incidents, messages, modeler
from app.web.api import bp
from app.web.api.schemas import REQUIRED, Id, load, load_query
from app.web.context import current_actor, platform


class MessagesQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(load_default=None)
    before_id = Id(load_default=None, strict=False)


class DiffQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    first = fields.Integer(data_key="from", required=True, strict=False, validate=validate.Range(min=1, max=10**6),
                           error_messages=REQUIRED)
    second = fields.Integer(data_key="to", required=True, strict=False, validate=validate.Range(min=1, max=10**6),
                            error_messages=REQUIRED)


class ToQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    to = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=10**6),
                        error_messages=REQUIRED)


class ScriptCheck(Schema):
    source = fields.String(required=True, error_messages=REQUIRED)
    mode = fields.String(load_default="exec", validate=validate.OneOf(["exec", "eval"], error="只能是 exec 或 eval"))


class TimerPreview(Schema):
    kind = fields.String(required=True, error_messages=REQUIRED,
                         validate=validate.OneOf(["duration", "date", "cycle"], error="只能是 duration、date 或 cycle"))
    value = fields.String(required=True, error_messages=REQUIRED, validate=validate.Length(min=1, max=200))


class Draft(Schema):
    bpmn = fields.String(required=True, error_messages=REQUIRED)
    forms = fields.Dict(keys=fields.String(), load_default=dict)


class CaseIds(Schema):
    class Meta:
        unknown = EXCLUDE

    case_ids = fields.List(Id(strict=True), required=True, error_messages=REQUIRED,
                           validate=validate.Length(min=1, max=case_migrations.MAX_CASES,
                                                    error=f"请给出 1 到 {case_migrations.MAX_CASES} 个诉求件编号"))


def _uploaded(required: bool = True) -> tuple[bytes, dict[str, bytes], dict[str, bytes]]:
    """The multipart `file` (a .bpmn or a zip), repeated `forms` and `library` files."""
    upload = request.files.get("file")
    if upload is None and required:
        raise Invalid("提交的内容有误", {"file": "请上传 BPMN 文件"})
    forms = {f.filename or "": f.read() for f in request.files.getlist("forms") if f.filename}
    library = {f.filename or "": f.read() for f in request.files.getlist("library") if f.filename}
    return (upload.read() if upload is not None else b""), forms, library


def _json_field(name: str) -> Any:
    """A multipart field holding JSON (e.g. `answers`); absent: None."""
    text = request.form.get(name)
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise Invalid(f"{name} 不是有效的 JSON", {name: "不是有效的 JSON"}) from None


@bp.post("/definitions")
def deploy() -> ResponseReturnValue:
    bpmn, forms, library = _uploaded()
    row = definitions.deploy_definition(platform(), current_actor(), bpmn, forms, library,
                                        note=request.form.get("note"))
    return jsonify(key=row.key, version=row.version, checksum=row.checksum, note=row.note), 201


@bp.get("/definitions")
def list_definitions() -> ResponseReturnValue:
    return jsonify(items=definitions.list_definitions(platform(), current_actor()))


@bp.get("/definitions/<key>/versions")
def list_versions(key: str) -> ResponseReturnValue:
    return jsonify(key=key, items=definitions.list_versions(platform(), current_actor(), key))


@bp.get("/definitions/<key>/versions/<int:version>")
def version_files(key: str, version: int) -> ResponseReturnValue:
    return jsonify(definitions.version_files(platform(), current_actor(), key, version))


@bp.get("/definitions/<key>/versions/<int:version>/bpmn")
def version_bpmn(key: str, version: int) -> ResponseReturnValue:
    text = definitions.version_bpmn(platform(), current_actor(), key, version)
    return Response(text, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{key}-v{version}.bpmn"'})


@bp.get("/definitions/<key>/versions/<int:version>/zip")
def version_zip(key: str, version: int) -> ResponseReturnValue:
    data = definitions.version_zip(platform(), current_actor(), key, version)
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{key}-v{version}.zip"'})


@bp.post("/definitions/import")
def import_definition() -> ResponseReturnValue:
    bpmn, forms, _library = _uploaded()
    return jsonify(definitions.import_upload(platform(), current_actor(), bpmn, forms))


@bp.post("/definitions/check")
def check() -> ResponseReturnValue:
    bpmn, forms, library = _uploaded()
    return jsonify(definitions.check_draft(platform(), current_actor(), bpmn, forms, library))


@bp.post("/definitions/dry-run")
def run_dry() -> ResponseReturnValue:
    bpmn, forms, library = _uploaded()
    answers = _json_field("answers") or {}
    start = _json_field("start") or {}
    if not isinstance(start, dict):
        raise Invalid("start 必须是 JSON 对象", {"start": "必须是 JSON 对象"})
    fire = (request.form.get("fire_timers") or "").lower() in ("1", "true", "yes")
    return jsonify(dry_run.dry_run(platform(), current_actor(), bpmn, forms, library, answers, start=start,
                                   fire_timers=fire, stop_at=request.form.get("stop_at") or None))


@bp.get("/definitions/choices")
def choices() -> ResponseReturnValue:
    """What the modeler's properties panel offers (roles, rules, statuses, messages, unit variables, forms)."""
    return jsonify(modeler.choices(platform(), current_actor(), request.args.get("key") or None))


@bp.post("/definitions/check-script")
def check_script() -> ResponseReturnValue:
    body = load(ScriptCheck())
    return jsonify(modeler.check_script(current_actor(), body["source"], body["mode"]))


@bp.post("/definitions/timer-preview")
def timer_preview() -> ResponseReturnValue:
    body = load(TimerPreview())
    return jsonify(modeler.timer_preview(platform(), current_actor(), body["kind"], body["value"]))


@bp.get("/definitions/<key>/diff")
def diff(key: str) -> ResponseReturnValue:
    query = load_query(DiffQuery())
    return jsonify(definitions.diff_versions(platform(), current_actor(), key, query["first"], query["second"]))


@bp.get("/definitions/<key>/migrations")
def migration_groups(key: str) -> ResponseReturnValue:
    query = load_query(ToQuery())
    return jsonify(case_migrations.migration_groups(platform(), current_actor(), key, query["to"]))


@bp.post("/definitions/<key>/migrations")
def migrate(key: str) -> ResponseReturnValue:
    query = load_query(ToQuery())
    body = load(CaseIds())
    return jsonify(case_migrations.migrate_cases(platform(), current_actor(), key, query["to"], body["case_ids"]))


@bp.post("/definitions/migrations/<int:migration_id>/undo")
def undo_migration(migration_id: int) -> ResponseReturnValue:
    return jsonify(case_migrations.undo_migration(platform(), current_actor(), migration_id))


@bp.get("/definitions/<key>/draft")
def get_draft(key: str) -> ResponseReturnValue:
    return jsonify(modeler.get_draft(platform(), current_actor(), key))


@bp.put("/definitions/<key>/draft")
def save_draft(key: str) -> ResponseReturnValue:
    body = load(Draft())
    return jsonify(modeler.save_draft(platform(), current_actor(), key, body["bpmn"], body["forms"]))


@bp.delete("/definitions/<key>/draft")
def delete_draft(key: str) -> ResponseReturnValue:
    modeler.delete_draft(platform(), current_actor(), key)
    return "", 204


@bp.get("/incidents")
def list_incidents() -> ResponseReturnValue:
    return jsonify(items=incidents.list_incidents(platform(), current_actor()))


@bp.post("/incidents/<int:case_id>/retry")
def retry_incident(case_id: int) -> ResponseReturnValue:
    return jsonify(case_id=case_id, status=incidents.retry(platform(), current_actor(), case_id))


@bp.get("/messages")
def list_messages() -> ResponseReturnValue:
    query = load_query(MessagesQuery())
    return jsonify(items=messages.list_messages(platform(), current_actor(), status=query["status"],
                                                before_id=query["before_id"]))
