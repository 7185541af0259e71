"""Form data against a form's JSON Schema: unknown keys dropped, errors as {field: Chinese message}."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.validators import validator_for

from app.engine.errors import FormInvalid

_TYPE_NAMES = {
    "string": "文字",
    "integer": "整数",
    "number": "数字",
    "boolean": "是/否",
    "array": "列表",
    "object": "对象",
    "null": "空值",
}
_VALIDATORS: dict[int, Any] = {}


def _validator(schema: dict[str, Any]) -> Any:
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached.schema is not schema:
        cls = validator_for(schema, default=Draft202012Validator)
        if cls not in (Draft202012Validator, Draft7Validator):
            cls = Draft202012Validator
        cached = cls(schema, format_checker=FormatChecker())
        if len(_VALIDATORS) > 1024:  # schemas of evicted spec versions
            _VALIDATORS.clear()
        _VALIDATORS[id(schema)] = cached
    return cached


def _label(schema: dict[str, Any], field: str) -> str:
    prop = (schema.get("properties") or {}).get(field)
    title = prop.get("title") if isinstance(prop, dict) else None
    return f"「{title or field}」"


def _describe(error: ValidationError, label: str) -> str:
    kind, value = error.validator, error.validator_value
    if kind == "type":
        names = value if isinstance(value, list) else [value]
        return f"{label}应为{'或'.join(_TYPE_NAMES.get(str(n), str(n)) for n in names)}"
    if kind == "minLength":
        return f"{label}至少需要 {value} 个字符" if value > 1 else f"{label}不能为空"
    if kind == "maxLength":
        return f"{label}最多 {value} 个字符"
    if kind == "minimum":
        return f"{label}不能小于 {value}"
    if kind == "maximum":
        return f"{label}不能大于 {value}"
    if kind == "exclusiveMinimum":
        return f"{label}必须大于 {value}"
    if kind == "exclusiveMaximum":
        return f"{label}必须小于 {value}"
    if kind in ("enum", "const"):
        options = value if isinstance(value, list) else [value]
        return f"{label}只能是以下取值之一：{'、'.join(str(o) for o in options)}"
    if kind == "pattern":
        return f"{label}格式不正确"
    if kind == "format":
        return f"{label}格式不正确（应为 {value}）"
    if kind == "minItems":
        return f"{label}至少选择 {value} 项"
    if kind == "maxItems":
        return f"{label}最多选择 {value} 项"
    return f"{label}取值无效"


def clean_form_data(schema: dict[str, Any], form_data: Any) -> dict[str, Any]:
    """Keep only the schema's properties, validate, and return them; raise FormInvalid otherwise."""
    if not isinstance(form_data, dict):
        raise FormInvalid({"__all__": "表单数据必须是键值对"})
    properties = schema.get("properties") or {}
    cleaned = {k: v for k, v in form_data.items() if k in properties}
    errors: dict[str, str] = {}
    for error in _validator(schema).iter_errors(cleaned):
        if error.validator == "required" and not error.path:
            for field in error.validator_value:
                if field not in cleaned:
                    errors.setdefault(field, f"{_label(schema, field)}为必填项")
            continue
        field = str(error.absolute_path[0]) if error.absolute_path else "__all__"
        errors.setdefault(field, _describe(error, _label(schema, field) if field != "__all__" else "表单"))
    if errors:
        raise FormInvalid(errors)
    return cleaned
