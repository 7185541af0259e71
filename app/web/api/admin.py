"""Administrators' API: deadline rules, the working calendar, settings, the repair of due dates."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import admin, deadline_repair
from app.web.api import bp
from app.web.context import current_actor, platform


def _body() -> dict[str, object]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("请求体必须是 JSON 对象")
    return body


@bp.patch("/deadline-rules/<key>")
def update_rule(key: str) -> ResponseReturnValue:
    return jsonify(admin.update_rule(platform(), current_actor(), key, _body()))


@bp.put("/calendar/<int(min=1900, max=9999):year>")  # a year a date can hold: beyond is no calendar (404)
def confirm_year(year: int) -> ResponseReturnValue:
    body = _body()
    raw = body.get("entries")
    if not isinstance(raw, list):
        raise Invalid("提交的内容有误", {"entries": "必须是列表"})
    try:
        entries = [_day(e) for e in raw]
    except (KeyError, TypeError, ValueError) as e:
        raise Invalid("提交的内容有误",
                      {"entries": "每项需要 day(YYYY-MM-DD)、is_workday(true/false),可选 note"}) from e
    source = body.get("source") or "管理员录入"
    if not isinstance(source, str):
        raise Invalid("提交的内容有误", {"source": "应为文字"})
    count = admin.confirm_year(platform(), current_actor(), year, entries, source)
    repair = deadline_repair.preview(platform(), current_actor(), {"kind": "calendar_year", "year": year})
    return jsonify(year=year, entries=count, repair={k: repair[k] for k in ("cause", "count", "turning_red")})


@bp.post("/deadline-repair/preview")
def preview_repair() -> ResponseReturnValue:
    """Which open tasks' due dates a rule or calendar change moves (old → new, turning red); no writes."""
    return jsonify(deadline_repair.preview(platform(), current_actor(), _body().get("cause")))


@bp.post("/deadline-repair/apply")
def apply_repair() -> ResponseReturnValue:
    return jsonify(deadline_repair.apply(platform(), current_actor(), _body().get("cause")))


def _local_change() -> admin.LocalChange:
    """{"region": 7, "first": "2027-03-10", "last": "2027-03-12", "note": "古尔邦节"} (note null: clear)."""
    body = _body()
    region, note = body.get("region"), body.get("note")
    if isinstance(region, bool) or not isinstance(region, int) or not 0 < region < 2**31:
        raise Invalid("提交的内容有误", {"region": "应为区县或街道的单位 id"})
    if note is not None and not isinstance(note, str):
        raise Invalid("提交的内容有误", {"note": "应为文字,或 null 表示取消"})
    days = {}
    for field in ("first", "last"):
        raw = body.get(field, body.get("first")) if field == "last" else body.get(field)
        try:
            days[field] = date.fromisoformat(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError) as e:
            raise Invalid("提交的内容有误", {field: "日期应为 YYYY-MM-DD"}) from e
    return admin.LocalChange(region, days["first"], days["last"], note)


@bp.post("/calendar/local/preview")
def preview_local() -> ResponseReturnValue:
    """Which open tasks of the region's units setting (or clearing) these local holidays would move; no writes."""
    return jsonify(admin.preview_local(platform(), current_actor(), _local_change()))


@bp.post("/calendar/local")
def change_local() -> ResponseReturnValue:
    """Set (or clear, note null) a region's local holidays and apply the deadline repair, in one transaction."""
    return jsonify(admin.change_local(platform(), current_actor(), _local_change()))


def _day(entry: object) -> admin.DayEntry:
    """One entry, strictly typed: a "false" string is not a rest day's opposite."""
    if not isinstance(entry, dict) or not isinstance(entry["day"], str) or not isinstance(entry["is_workday"], bool):
        raise TypeError("entry")
    note = entry.get("note", "")
    if not isinstance(note, str):
        raise TypeError("note")
    return admin.DayEntry(date.fromisoformat(entry["day"]), entry["is_workday"], note)


@bp.put("/settings/<key>")
def change_setting(key: str) -> ResponseReturnValue:
    body = _body()
    if "value" not in body:
        raise Invalid("提交的内容有误", {"value": "必填项"})
    admin.change_setting(platform(), current_actor(), key, body["value"])
    return jsonify(key=key, value=body["value"])
