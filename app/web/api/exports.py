"""Exports of a combined query: start one, follow its progress, download the file (its creator only)."""

from __future__ import annotations

from flask import jsonify, send_file
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import exports
from app.web.api import bp
from app.web.api.schemas import json_object
from app.web.context import current_actor, platform


@bp.post("/exports")
def create_export() -> ResponseReturnValue:
    """`query`: the query parameters of GET /cases (strings or lists of strings); `format`: csv | xlsx;
    `reveal`: true to show personal data in full where the caller may see it."""
    body = json_object()
    query = body.get("query") or {}
    if not isinstance(query, dict):
        raise Invalid("查询条件(query)应为对象", {"query": "应为对象"})
    result = exports.create(platform(), current_actor(), query, str(body.get("format") or ""),
                            reveal=body.get("reveal") is True)
    return jsonify(result), 201


@bp.get("/exports/<int:job_id>")
def export_status(job_id: int) -> ResponseReturnValue:
    return jsonify(exports.status(platform(), current_actor(), job_id))


@bp.get("/exports/<int:job_id>/file")
def export_file(job_id: int) -> ResponseReturnValue:
    path, name = exports.file_of(platform(), current_actor(), job_id)
    return send_file(path, as_attachment=True, download_name=name)
