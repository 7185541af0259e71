"""The data dictionary: any signed-in user reads a list's words; administrators rename an entry."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import dictionary
from app.web.api import bp
from app.web.context import current_actor, platform


@bp.get("/dictionary/<kind>")
def dictionary_list(kind: str) -> ResponseReturnValue:
    return jsonify(items=dictionary.list_entries(platform(), current_actor(), kind))


@bp.patch("/dictionary/<kind>/<path:code>")
def rename_entry(kind: str, code: str) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("label"), str):
        raise Invalid("提交的内容有误", {"label": "必填项"})
    return jsonify(dictionary.rename(platform(), current_actor(), kind, code, body["label"]))
