"""JSON API under /api/v1: bearer tokens only, errors as {code, message, details}."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError, fields, validate

from app.errors import Invalid
from app.services import auth, cases
from app.web.context import client_ip, current_actor, platform

bp = Blueprint("api", __name__, url_prefix="/api/v1")

REQUIRED: dict[str, str | list[Any] | dict[Any, Any]] = {"required": "必填项"}


class TokenRequest(Schema):
    staff_no = fields.String(required=True, validate=validate.Length(min=1, max=40, error="工号长度不正确"),
                             error_messages=REQUIRED)
    password = fields.String(required=True, validate=validate.Length(min=1, max=200, error="密码长度不正确"),
                             error_messages=REQUIRED)


def load(schema: Schema) -> dict[str, object]:
    """Validate the JSON body; field errors come back in Chinese under `details`."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("请求体必须是 JSON 对象")
    try:
        return dict(schema.load(body))
    except ValidationError as e:
        messages = e.messages if isinstance(e.messages, dict) else {"_": e.messages}
        raise Invalid("提交的内容有误", {k: v[0] if isinstance(v, list) else v for k, v in messages.items()}) from e


@bp.post("/auth/token")
def issue_token() -> ResponseReturnValue:
    data = load(TokenRequest())
    token = auth.issue_user_token(platform(), str(data["staff_no"]), str(data["password"]), client_ip())
    return jsonify(token=token, token_type="Bearer",  # noqa: S106
                   expires_in=platform().settings.API_TOKEN_HOURS * 3600), 201


@bp.get("/me")
def me() -> ResponseReturnValue:
    actor = current_actor()
    return jsonify(staff_no=actor.label, name=actor.name, roles=sorted(actor.roles), scope=actor.scope)


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int) -> ResponseReturnValue:
    reveal = request.args.get("reveal") == "1"
    return jsonify(cases.read_case(platform(), current_actor(), case_id, reveal=reveal))
