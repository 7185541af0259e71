"""A task form's JSON Schema as fields to render, and a posted HTML form back into the data the schema checks.

The schema stays the one source: choices come from `oneOf` [{const, title}], labels from `title`, limits
from `maxLength`/`minimum`/`maximum`, the widget from `x-ui.widgets`, the order from `x-ui.order`.
Conditional requirements (`allOf` if/then) are explained next to the field; the server checks them.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

BOOLEAN_CHOICES = [("true", "是"), ("false", "否")]


def _types(prop: dict[str, Any]) -> list[str]:
    kind = prop.get("type", "string")
    return list(kind) if isinstance(kind, list) else [kind]


def _choices(prop: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(o["const"]), str(o.get("title", o["const"]))) for o in prop.get("oneOf", []) if "const" in o]


def _conditions(schema: dict[str, Any]) -> dict[str, str]:
    """field → '当「下一步」为「申请延期」时必填' from the schema's allOf if/then."""
    props = schema.get("properties") or {}
    hints: dict[str, list[str]] = {}
    for rule in schema.get("allOf", []):
        when = (rule.get("if") or {}).get("properties") or {}
        needed = (rule.get("then") or {}).get("required") or []
        for field, test in when.items():
            prop = props.get(field, {})
            names = dict(_choices(prop)) | {"True": "是", "False": "否"}
            values = [test["const"]] if "const" in test else test.get("enum", [])
            shown = "或".join(f"「{names.get(str(v), v)}」" for v in values)
            for target in needed:
                hints.setdefault(target, []).append(f"当「{prop.get('title', field)}」为{shown}时必填")
    return {k: ";".join(v) for k, v in hints.items()}


def _widget(name: str, prop: dict[str, Any], ui: dict[str, str]) -> str:
    given = ui.get(name)
    if given in ("radio", "textarea", "unit-picker", "unit-picker-multiple", "category-tree"):
        return given
    types = _types(prop)
    if "boolean" in types:
        return "checkbox" if "default" in prop else "yesno"
    if _choices(prop):
        return "radio" if len(_choices(prop)) <= 4 else "select"
    if "integer" in types or "number" in types:
        return "number"
    if "array" in types:
        return "unit-picker-multiple" if name.endswith("unit_ids") else "text"
    if int(prop.get("maxLength", 0)) > 200:
        return "textarea"
    return "text"


def fields_of(schema: dict[str, Any], values: dict[str, Any] | None = None,
              errors: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The fields to render, in x-ui order, each with its widget, choices, limits, value and error."""
    props: dict[str, Any] = schema.get("properties") or {}
    ui = schema.get("x-ui") or {}
    order = [n for n in ui.get("order", []) if n in props] + [n for n in props if n not in ui.get("order", [])]
    required = set(schema.get("required") or [])
    hints = _conditions(schema)
    values, errors = values or {}, errors or {}
    fields = []
    for name in order:
        prop = props[name]
        widget = _widget(name, prop, ui.get("widgets") or {})
        value = values.get(name, prop.get("default"))
        choices = BOOLEAN_CHOICES if widget == "yesno" else _choices(prop)
        fields.append({
            "name": name, "title": prop.get("title", name), "description": prop.get("description", ""),
            "widget": widget, "choices": choices, "required": name in required and widget != "checkbox",
            "hint": hints.get(name, ""), "error": errors.get(name, ""),
            "maxlength": prop.get("maxLength"), "min": prop.get("minimum"), "max": prop.get("maximum"),
            "value": _shown(value),
            "values": [str(v) for v in value] if isinstance(value, list) else [],
        })
    return fields


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None or isinstance(value, list) else str(value)


def _number(text: str, types: list[str]) -> Any:
    """An int or float when the text is one and the schema allows it; else the text, for the schema to refuse."""
    if "integer" in types and text.lstrip("-").isdigit():
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def parse(schema: dict[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """The posted form as schema data: empty fields left out, numbers and booleans typed, lists from repeats."""
    data: dict[str, Any] = {}
    ui_widgets = (schema.get("x-ui") or {}).get("widgets") or {}
    for name, prop in (schema.get("properties") or {}).items():
        types = _types(prop)
        if "array" in types:
            item_types = _types(prop.get("items") or {})
            picked = [_number(v.strip(), item_types) for v in form.getlist(name) if v.strip()]
            if picked or name in form:
                data[name] = picked
            continue
        text = (form.get(name) or "").strip()
        if "boolean" in types:
            if _widget(name, prop, ui_widgets) == "checkbox":
                data[name] = text in ("true", "on", "1")
            elif text:
                data[name] = {"true": True, "false": False}.get(text, text)
            continue
        if text:
            data[name] = _number(text, types) if ("integer" in types or "number" in types) else text
    return data
