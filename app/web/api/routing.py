"""派单目录 over the API: 试派 (which rule a category + area would hit) and the rules themselves."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import routing
from app.web.api import bp
from app.web.context import current_actor, platform


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("请求内容应为 JSON 对象", {"__all__": "请求内容应为 JSON 对象"})
    return body


@bp.post("/routing/try")
def routing_try() -> ResponseReturnValue:
    body = _body()
    return jsonify(routing.try_route(platform(), current_actor(), body.get("category"), body.get("area")))


@bp.get("/routing/rules")
def routing_rules() -> ResponseReturnValue:
    return jsonify(items=routing.list_rules(platform(), current_actor()))


@bp.post("/routing/rules")
def routing_add_rule() -> ResponseReturnValue:
    return jsonify(routing.save_rule(platform(), current_actor(), _body())), 201
