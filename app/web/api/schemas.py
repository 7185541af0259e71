"""Request bodies, validated with marshmallow; every message is Chinese and keyed by the field at fault."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError, fields, validate

from app.errors import Invalid

ErrorMessages = dict[str, str | list[Any] | dict[Any, Any]]
REQUIRED: ErrorMessages = {"required": "必填项", "null": "不能为空", "invalid": "格式不正确"}


def text(max_len: int, *, required: bool = True, min_len: int = 1) -> fields.String:
    return fields.String(required=required, allow_none=not required, error_messages=REQUIRED,
                         validate=validate.Length(min=min_len, max=max_len,
                                                  error=f"长度应在{min_len}到{max_len}个字符之间"))


class TokenRequest(Schema):
    staff_no = text(40)
    password = text(200)


class RequesterSchema(Schema):
    name = text(60)
    phone = text(40, required=False)
    id_number = text(40, required=False)
    address = text(200, required=False)


class CaseCreate(Schema):
    kind = text(20)  # checked against the data dictionary by the intake service
    channel = text(20)
    category = text(80, required=False)
    subject = text(200)
    content = text(20000)
    requester = fields.Nested(RequesterSchema, required=True, error_messages=REQUIRED)
    process = text(60, required=False)
    duplicate_of = fields.Integer(required=False, allow_none=True, error_messages=REQUIRED)


class TaskComplete(Schema):
    data = fields.Dict(required=True, error_messages=REQUIRED)


class Supervision(Schema):
    note = text(2000)


def load(schema: Schema) -> dict[str, Any]:
    """Validate the JSON body; field errors come back in Chinese under `details`, dotted for nested fields."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("请求体必须是 JSON 对象")
    try:
        return dict(schema.load(body))
    except ValidationError as e:
        messages = e.messages if isinstance(e.messages, dict) else {"_": e.messages}
        raise Invalid("提交的内容有误", _flatten(messages)) from e


def _flatten(messages: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = "未知字段" if value == ["Unknown field."] else str(value[0] if isinstance(value, list)
                                                                          else value)
    return flat
