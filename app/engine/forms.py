"""Form data against a form's JSON Schema: unknown keys dropped, errors as {field: Chinese message}.

Validation never reaches outside the form: `$ref`s resolve in a `referencing` registry that retrieves
nothing (jsonschema's default would fetch URLs and read files), and `pattern` / `patternProperties` run
on RE2, a linear-time engine, so no pattern can backtrack for seconds on a short answer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2
import referencing
import referencing.exceptions
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend, validator_for

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
NO_RETRIEVAL: referencing.Registry[Any] = referencing.Registry()  # a $ref outside the form is Unresolvable
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.max_mem = 1 << 20  # a pattern whose program needs more than 1 MiB is refused


class PatternRefused(Exception):
    """A `pattern` RE2 cannot run (back-references, look-around, too big); the message is Chinese."""


@lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> Any:
    """The pattern compiled by RE2 (linear time in the answer's length); raise PatternRefused otherwise."""
    if not isinstance(pattern, str):
        raise PatternRefused("正则表达式必须是文字")
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternRefused(f"正则表达式 {pattern!r} 不是安全的正则表达式（{reason}）") from None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, properties: dict[str, Any], instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in properties.items():
        regex = compile_pattern(pattern)
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


_RE2_KEYWORDS = {"pattern": _pattern, "patternProperties": _pattern_properties}
_CLASSES: dict[Any, Any] = {
    Draft202012Validator: extend(Draft202012Validator, _RE2_KEYWORDS),
    Draft7Validator: extend(Draft7Validator, _RE2_KEYWORDS),
}


def _is_regex(value: Any) -> bool:
    return not isinstance(value, str) or bool(compile_pattern(value))


_FORMATS = FormatChecker()
_FORMATS.checks("regex", raises=PatternRefused)(_is_regex)  # `format: regex` answers are compiled by RE2 too


def form_validator(schema: dict[str, Any]) -> Any:
    """A validator for one form: Draft 2020-12 (or 7 when declared), RE2 patterns, no $ref retrieval."""
    cls = validator_for(schema, default=Draft202012Validator)
    return _CLASSES.get(cls, _CLASSES[Draft202012Validator])(
        schema, format_checker=_FORMATS, registry=NO_RETRIEVAL)


def _validator(schema: dict[str, Any]) -> Any:
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached.schema is not schema:
        cached = form_validator(schema)
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


class FormBroken(Exception):
    """The form itself cannot be used (a $ref outside it, a pattern RE2 refuses): the definition is broken."""


def _errors(schema: dict[str, Any], cleaned: dict[str, Any]) -> list[ValidationError]:
    try:
        return list(_validator(schema).iter_errors(cleaned))
    except referencing.exceptions.Unresolvable as exc:
        raise FormBroken(f"表单引用了无法在本表单内找到的 Schema（{exc}），已拒绝读取") from None
    except PatternRefused as exc:
        raise FormBroken(str(exc)) from None


def clean_form_data(schema: dict[str, Any], form_data: Any) -> dict[str, Any]:
    """Keep only the schema's properties, validate, and return them; raise FormInvalid otherwise
    (FormBroken when the form itself reaches outside or cannot run)."""
    if not isinstance(form_data, dict):
        raise FormInvalid({"__all__": "表单数据必须是键值对"})
    properties = schema.get("properties") or {}
    cleaned = {k: v for k, v in form_data.items() if k in properties}
    errors: dict[str, str] = {}
    for error in _errors(schema, cleaned):
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
