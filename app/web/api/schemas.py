"""Request bodies and query strings, validated with marshmallow; every message is Chinese and keyed by the field.

marshmallow's own messages are set to Chinese once, here, for every field class (`_speak_chinese`), so a
schema anywhere that forgets `error_messages` still answers in Chinese; a message that is still not
Chinese is replaced by "格式不正确" on the way out. Integers are bounded to what the databases hold (`Id`).
"""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError, fields, validate

from app.domain.intake import LIMITS, MAX_ID
from app.errors import Invalid

ErrorMessages = dict[str, str | list[Any] | dict[Any, Any]]
REQUIRED: ErrorMessages = {"required": "必填项", "null": "不能为空", "invalid": "格式不正确"}

_CHINESE: dict[Any, dict[str, str]] = {
    fields.Field: {"required": "必填项", "null": "不能为空", "validator_failed": "格式不正确"},
    fields.String: {"invalid": "应为文本", "invalid_utf8": "不是有效的 UTF-8 文本"},
    fields.Number: {"invalid": "应为数字", "too_large": "数值过大"},
    fields.Integer: {"invalid": "应为整数"},
    fields.Float: {"special": "不能是 NaN 或无穷大"},
    fields.Boolean: {"invalid": "应为 true 或 false"},
    fields.Dict: {"invalid": "应为对象"},
    fields.Mapping: {"invalid": "应为对象"},
    fields.List: {"invalid": "应为列表"},
    fields.Tuple: {"invalid": "应为列表"},
    fields.Nested: {"type": "应为对象"},
    fields.DateTime: {"invalid": "日期时间格式不正确", "invalid_awareness": "日期时间须带时区",
                      "format": "日期时间格式不正确"},
    fields.AwareDateTime: {"invalid_awareness": "日期时间须带时区"},
    fields.NaiveDateTime: {"invalid_awareness": "日期时间不应带时区"},
    fields.Date: {"invalid": "日期格式应为 YYYY-MM-DD", "format": "日期格式应为 YYYY-MM-DD"},
    fields.Email: {"invalid": "电子邮箱格式不正确"},
    fields.URL: {"invalid": "网址格式不正确"},
    fields.UUID: {"invalid_uuid": "UUID 格式不正确"},
}
_SCHEMA_MESSAGES = {"type": "应为对象", "unknown": "未知字段"}


def _speak_chinese() -> None:
    """Set marshmallow's default messages to Chinese, once, for every field class and every schema."""
    for cls, messages in _CHINESE.items():
        cls.default_error_messages = {**getattr(cls, "default_error_messages", {}), **messages}
    Schema._default_error_messages = {**Schema._default_error_messages, **_SCHEMA_MESSAGES}  # noqa: SLF001


_speak_chinese()


class Id(fields.Integer):
    """An id a database column can hold (1 … MAX_ID): a bigger one is a field error, never a 500."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"required": "必填项", "null": "不能为空"})
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID, error=f"应为 1 到 {MAX_ID} 之间的整数"))
        kwargs.setdefault("strict", True)  # JSON says 5, not "5"; a query string passes strict=False
        super().__init__(**kwargs)


def text(max_len: int, *, required: bool = True, min_len: int = 1) -> fields.String:
    return fields.String(required=required, allow_none=not required, error_messages=REQUIRED,
                         validate=validate.Length(min=min_len, max=max_len,
                                                  error=f"长度应在{min_len}到{max_len}个字符之间"))


def _limit(path: str) -> int:
    return LIMITS[path][1]


class TokenRequest(Schema):
    staff_no = text(40)
    password = text(200)


class RequesterSchema(Schema):
    """Documents the shape in /api/v1/openapi.json; app.domain.intake validates it."""

    name = text(_limit("requester.name"))
    phone = text(_limit("requester.phone"), required=False)
    id_number = text(_limit("requester.id_number"), required=False)
    address = text(_limit("requester.address"), required=False)
    anonymous = fields.Boolean(required=False)


class CaseCreate(Schema):
    """Documents `POST /api/v1/cases` in the OpenAPI description; the body itself goes to the one intake
    validator (app.domain.intake.check_intake), which the intake page uses too."""

    kind = text(_limit("kind"))
    channel = text(_limit("channel"))
    category = text(_limit("category"), required=False)
    subject = text(_limit("subject"))
    content = text(_limit("content"))
    requester = fields.Nested(RequesterSchema, required=True, error_messages=REQUIRED)
    process = text(_limit("process"), required=False)
    duplicate_of = Id(required=False, allow_none=True)
    call_id = Id(required=False, allow_none=True)
    direct_reply = text(_limit("direct_reply"), required=False)  # 直接答复: 咨询、建议、表扬/感谢 closed at intake
    area = Id(required=False, allow_none=True)  # district/street unit of the location (派单目录)
    location = text(_limit("location"), required=False)  # 事发地点: where the matter is, not the requester's address
    lat = fields.Float(required=False, allow_none=True, validate=validate.Range(min=-90, max=90))  # map point
    lng = fields.Float(required=False, allow_none=True, validate=validate.Range(min=-180, max=180))
    knowledge_entry = Id(required=False, allow_none=True)  # 用此答复: the 知识库 entry the direct reply came from


class ChannelCaseCreate(CaseCreate):
    """Documents `POST /api/v1/channel/cases`: the same body, the channel optional (the key fixes it)."""

    channel = text(_limit("channel"), required=False)


class PortalLookup(Schema):
    """POST /api/v1/portal/lookup: a citizen's 受理号 and 查询码."""

    number = text(40)
    query_code = text(20)


class TaskComplete(Schema):
    data = fields.Dict(required=True, error_messages=REQUIRED)


class Supervision(Schema):
    note = text(2000)


def json_object() -> dict[str, Any]:
    """The JSON body, which must be an object (its depth and text were checked at the door)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("请求体必须是 JSON 对象")
    return body


def load(schema: Schema) -> dict[str, Any]:
    """Validate the JSON body; field errors come back in Chinese under `details`, dotted for nested fields."""
    return _validated(schema, json_object())


def load_query(schema: Schema) -> dict[str, Any]:
    """Validate the query string with a schema (unknown parameters are the schema's to allow)."""
    return _validated(schema, request.args.to_dict())


def _validated(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(schema.load(data))
    except ValidationError as e:
        messages = e.messages if isinstance(e.messages, dict) else {"_": e.messages}
        raise Invalid("提交的内容有误", _flatten(messages)) from e


def _chinese(message: Any) -> str:
    text_ = str(message[0] if isinstance(message, list) and message else message)
    if text_ == "Unknown field.":
        return "未知字段"
    return text_ if any("\u4e00" <= c <= "\u9fff" for c in text_) else "格式不正确"


def _flatten(messages: dict[Any, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in messages.items():
        name = (prefix.rstrip(".") or "_") if key == "_schema" else f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = _chinese(value)
    return flat
