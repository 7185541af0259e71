"""What every request meets before a view runs: bounded JSON depth, storable text, integers a database holds.

- JSON deeper than `MAX_JSON_DEPTH` is refused with 400 by a scan of the raw bytes before `json.loads`
  (which would otherwise recurse into a RecursionError on 5,000 brackets);
- a NUL or a lone surrogate in any query parameter, path segment, form field or JSON string is refused with
  422 naming the field (`app.domain.intake.text_fault`); everything else is kept as typed;
- a url-encoded form of more than MAX_FORM_PARTS fields is refused with 413, as werkzeug does for multipart;
- `<int:…>` in every route is bounded to 2**31-1 (the id columns are INTEGER), so a larger number is a 404
  like any unknown id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, Map

from app.domain.intake import MAX_ID, text_fault
from app.errors import Invalid, Malformed

MAX_JSON_DEPTH = 32
_TOKENS_B = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
_TOKENS_S = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
_FORMS = {"application/x-www-form-urlencoded", "multipart/form-data"}


def json_depth(data: str | bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep the brackets of a JSON text nest (outside strings), counting no further than limit + 1."""
    opening = data.count("[") + data.count("{") if isinstance(data, str) else data.count(b"[") + data.count(b"{")
    if opening <= limit:
        return opening  # cannot nest deeper than it has brackets: no scan needed
    depth = deepest = 0
    tokens = _TOKENS_S.finditer(data) if isinstance(data, str) else _TOKENS_B.finditer(data)
    for match in tokens:
        token = match.group()
        if token in ("[", "{", b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif token in ("]", "}", b"]", b"}"):
            depth -= 1
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing a body nested deeper than MAX_JSON_DEPTH before parsing it."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if json_depth(s) > MAX_JSON_DEPTH:
            raise Malformed(f"JSON 嵌套不能超过 {MAX_JSON_DEPTH} 层", {"body": f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层"})
        return super().loads(s, **kwargs)


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` for ids: at most MAX_ID (an INTEGER id column); larger numbers match no route (404)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002  (werkzeug's names)
                 max: int | None = MAX_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, text) for every key and string in a parsed JSON value, dotted like the API's fields."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where or "body", item
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                yield name, str(key)
                stack.append((name, child))
        elif isinstance(item, list):
            stack.extend((f"{where}.{i}" if where else str(i), child) for i, child in enumerate(item))


def _request_texts() -> Iterator[tuple[str, str]]:
    for name, value in request.args.items(multi=True):
        yield name, name
        yield name, value
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            yield name, value
    if request.is_json:
        yield from _strings(request.get_json(silent=True), "")
    elif request.mimetype in _FORMS:
        items = list(request.form.items(multi=True))
        if len(items) > (current_app.config.get("MAX_FORM_PARTS") or 1000):
            raise RequestEntityTooLarge()  # werkzeug counts multipart parts only, not url-encoded fields
        for name, value in items:
            if not isinstance(name, str) or not isinstance(value, str):
                continue  # a multipart part whose header werkzeug could not read names nothing storable
            yield name, name
            yield name, value


def refuse_unstorable_text() -> None:
    """422 naming the first field whose text holds a NUL or a lone surrogate (they break storage and pages)."""
    for name, value in _request_texts():
        fault = text_fault(value)
        if fault:
            shown = name.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")
            raise Invalid("提交的内容含有不能保存的字符", {shown: f"「{shown}」{fault}"})


# The forms that carry attachments: their bodies may hold ATTACHMENT_MAX_FILES files of ATTACHMENT_MAX_BYTES.
UPLOAD_ENDPOINTS = frozenset({"portal.submit", "pages.intake_submit"})


def allow_uploads() -> None:
    """Raise the body cap for the forms with attachments (before anything reads the body); each file is
    checked against ATTACHMENT_MAX_BYTES by app.services.attachments, a larger body is 413 here."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        settings = current_app.extensions["huiyin"].settings
        request.max_content_length = settings.ATTACHMENT_MAX_BYTES * settings.ATTACHMENT_MAX_FILES + 1024 * 1024


def install(app: Flask) -> None:
    """Before any route is added: the bounded converter and JSON provider; the text check runs first of all."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json_provider_class = BoundedJSONProvider
    app.json = BoundedJSONProvider(app)
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unstorable_text)
    app.before_request_funcs[None].insert(0, allow_uploads)
