"""The 系统管理员's settings page (/admin/settings): every setting of the SCHEMAS registry with its default
and current value; a change is checked by its schema (422 naming it) and read by every worker on its next
request (settings are read from the table per transaction)."""

from __future__ import annotations

import json
import string
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import admin
from app.services.settings import SCHEMAS, get_setting
from app.web.context import current_actor, platform, requires

bp = Blueprint("admin_settings", __name__, url_prefix="/admin/settings")
SAMPLE = {"number": "12345202612030001", "query_code": "A1B2C3", "task": "办理", "unit": "市城管局",
          "due_at": "2026-12-10 17:30"}


def _rows() -> list[dict[str, Any]]:
    with platform().db.reading() as session:
        values = {key: get_setting(session, key) for key in SCHEMAS}
    rows = []
    for key, schema in SCHEMAS.items():
        secret = "credential" in key
        row: dict[str, Any] = {"key": key, "label": schema.label, "secret": secret,
                               "default": "" if secret else json.dumps(schema.default, ensure_ascii=False),
                               "value": "" if secret else json.dumps(values[key], ensure_ascii=False)}
        if key.startswith("sms.template."):
            names = [n for _, n, _, _ in string.Formatter().parse(schema.default) if n]
            row["placeholders"] = ["{" + n + "}" for n in names]
            try:
                row["preview"] = str(values[key]).format(**SAMPLE)
            except (KeyError, ValueError, IndexError):
                row["preview"] = ""
        rows.append(row)
    return rows


@bp.get("")
@requires("settings.edit")
def setting_list() -> ResponseReturnValue:
    return render_template("admin/settings.html", rows=_rows(), error=None)


@bp.post("/<key>")
@requires("settings.edit")
def change(key: str) -> ResponseReturnValue:
    raw = request.form.get("value", "")
    try:
        try:
            value = raw if key.startswith("sms.") and not raw.lstrip().startswith(("[", "{", '"')) \
                else json.loads(raw)
        except ValueError as e:
            raise Invalid(f"「{SCHEMAS[key].label if key in SCHEMAS else key[:80]}」应为 JSON 值(文字请加引号)",
                          {key[:80]: "应为 JSON 值"}) from e
        admin.change_setting(platform(), current_actor(), key, value)
    except Invalid as e:
        return render_template("admin/settings.html", rows=_rows(), error=e, failed=key), 422
    flash(f"已修改「{SCHEMAS[key].label}」,即时生效", "ok")
    return redirect(url_for("admin_settings.setting_list"))
