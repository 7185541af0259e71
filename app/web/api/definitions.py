"""System administrators' API: process definitions, the incidents they run into, the SMS outbox."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields

from app.errors import Invalid
from app.services import definitions, incidents, messages
from app.web.api import bp
from app.web.api.schemas import Id, load_query
from app.web.context import current_actor, platform


class MessagesQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(load_default=None)
    before_id = Id(load_default=None, strict=False)


@bp.post("/definitions")
def deploy() -> ResponseReturnValue:
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("提交的内容有误", {"file": "请上传 BPMN 文件"})
    forms = {f.filename or "": f.read() for f in request.files.getlist("forms")}
    library = {f.filename or "": f.read() for f in request.files.getlist("library")}
    row = definitions.deploy_definition(platform(), current_actor(), upload.read(), forms, library)
    return jsonify(key=row.key, version=row.version, checksum=row.checksum), 201


@bp.get("/definitions")
def list_definitions() -> ResponseReturnValue:
    return jsonify(items=definitions.list_definitions(platform(), current_actor()))


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
