"""Telephony: the bridge posts call outcomes; the centre's staff list the calls and read the figures."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate

from app.errors import Invalid
from app.services import call_events, call_stats
from app.web.api import bp
from app.web.api.schemas import REQUIRED, load
from app.web.context import current_actor, platform

ID = validate.Regexp(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$", error="只能包含字母、数字、点、下划线和连字符")


def _text(max_len: int) -> fields.String:
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=max_len))


def _count() -> fields.Integer:
    return fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=10**7))


class CallEventSchema(Schema):
    """The bridge's JSON (docs/telephony-bridge.md); fields it may add later are ignored."""

    class Meta:
        unknown = EXCLUDE

    pbx_id = fields.String(required=True, error_messages=REQUIRED, validate=[validate.Length(min=1, max=40), ID])
    linkedid = fields.String(required=True, error_messages=REQUIRED, validate=[validate.Length(min=1, max=64), ID])
    kind = fields.String(required=True, error_messages=REQUIRED,
                         validate=validate.OneOf(call_events.KINDS, error="未知的来电结果"))
    caller_number = _text(40)
    caller_name = _text(200)
    queue = _text(80)
    agent_interface = _text(120)
    agent_member_name = _text(80)
    started_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)
    answered_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)
    ended_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)
    hold_seconds = _count()
    talk_seconds = _count()
    position = _count()
    original_position = _count()
    recording_file = _text(400)
    voicemail_file = _text(400)


@bp.post("/calls/events")
def post_call_event() -> ResponseReturnValue:
    result = call_events.record_event(platform(), current_actor(), call_events.CallEvent(**load(CallEventSchema())))
    return jsonify(result), 200 if result["duplicate"] else 201


def _date(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("提交的内容有误", {name: "日期格式应为 YYYY-MM-DD"}) from None


def _positive(name: str, default: int, most: int) -> int:
    raw = request.args.get(name, str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise Invalid("提交的内容有误", {name: f"应为1到{most}之间的整数"})
    return int(raw)


def _filter() -> call_stats.CallFilter:
    args: dict[str, Any] = {k: request.args.get(k) or None for k in ("linkedid", "outcome", "queue", "agent")}
    return call_stats.CallFilter(**args, date_from=_date("from"), date_to=_date("to"),
                                 page=_positive("page", 1, 10**6), per_page=_positive("per_page", 50, 200))


@bp.get("/calls")
def list_calls() -> ResponseReturnValue:
    return jsonify(call_stats.list_calls(platform(), current_actor(), _filter()))


@bp.get("/calls/stats")
def call_figures() -> ResponseReturnValue:
    by = request.args.get("by", "day")
    return jsonify(call_stats.call_stats(platform(), current_actor(), by, _filter()))
