"""Deploy-time checks of one form file: bounded size and nesting, a Draft 2020-12 / 7 object schema,
`$ref`s only inside the form, and every `pattern` / `patternProperties` key one RE2 can run.

A form is data an administrator uploads; validating an answer against it must never fetch a URL, read
a file, recurse without bound or backtrack for seconds. Each refusal names the form and the JSON
pointer of the offending keyword.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from app.engine.errors import DefinitionInvalid
from app.engine.forms import PatternRefused, compile_pattern

MAX_FORM_BYTES = 256 * 1024  # a form schema is a few KiB; 256 KiB leaves room without inviting abuse
MAX_FORM_DEPTH = 32  # nesting of JSON objects and arrays in one form file
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
_DATA_KEYWORDS = frozenset(("enum", "const", "default", "examples", "x-ui"))  # values here are data, not schemas
_DIALECTS = tuple(str(v.META_SCHEMA["$id"]).rstrip("#") for v in (Draft202012Validator, Draft7Validator))
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def json_depth(text: str) -> int:
    """The deepest nesting of objects and arrays in a JSON text (strings ignored), counted before parsing."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", _STRINGS.sub("", text)):
        depth = depth + 1 if bracket in "[{" else depth - 1
        deepest = max(deepest, depth)
    return deepest


def _pointer(path: tuple[str, ...]) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """Every (path, keyword, value) of a schema, not descending into data keywords (enum, default …)."""
    if isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            yield path, key, item
            if key not in _DATA_KEYWORDS:
                yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, str(index)))


def _check_keywords(task_id: str, filename: str, schema: dict[str, Any]) -> None:
    for path, key, value in _walk(schema):
        where = _pointer((*path, key))
        if key in _REFERENCES and (not isinstance(value, str) or not value.startswith("#")):
            message = f"表单 {filename} 的 {where} 引用了表单以外的 Schema（{value}）；只允许本表单内以 #/ 开头的引用"
            raise DefinitionInvalid(task_id, message)
        try:
            if key == "pattern" and isinstance(value, str):
                compile_pattern(value)
            elif key == "patternProperties" and isinstance(value, dict):
                for pattern in value:
                    compile_pattern(pattern)
        except PatternRefused as exc:
            raise DefinitionInvalid(task_id, f"表单 {filename} 的 {where}：{exc}") from None


def load_form(task_id: str, filename: str, form_files: dict[str, bytes]) -> dict[str, Any]:
    """Parse and check one form file; raise DefinitionInvalid naming the task, the form and the pointer."""
    if filename not in form_files:
        raise DefinitionInvalid(task_id, f"表单文件 {filename} 不存在")
    data = form_files[filename]
    if len(data) > MAX_FORM_BYTES:
        raise DefinitionInvalid(task_id, f"表单文件 {filename} 超过 {MAX_FORM_BYTES // 1024} KiB（{len(data)} 字节）")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DefinitionInvalid(task_id, f"表单文件 {filename} 必须是 UTF-8 编码的 JSON") from None
    if json_depth(text) > MAX_FORM_DEPTH:
        raise DefinitionInvalid(task_id, f"表单文件 {filename} 嵌套层数超过 {MAX_FORM_DEPTH} 层")
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise DefinitionInvalid(task_id, f"表单文件 {filename} 不是有效的 JSON：{exc}") from None
    if not isinstance(schema, dict):
        raise DefinitionInvalid(task_id, f"表单文件 {filename} 必须是 JSON 对象")
    validator = validator_for(schema, default=Draft202012Validator)
    dialect = schema.get("$schema", _DIALECTS[0])
    if validator not in (Draft202012Validator, Draft7Validator) or str(dialect).rstrip("#") not in _DIALECTS:
        raise DefinitionInvalid(task_id, f"表单 {filename} 只支持 JSON Schema Draft 2020-12 或 Draft 7")
    _check_keywords(task_id, filename, schema)
    try:
        validator.check_schema(schema)
    except SchemaError as exc:
        raise DefinitionInvalid(task_id, f"表单 {filename} 不是有效的 JSON Schema：{exc.message}") from None
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise DefinitionInvalid(task_id, f"表单 {filename} 必须是 type 为 object 且带 properties 的 Schema")
    return schema
