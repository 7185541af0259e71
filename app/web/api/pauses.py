"""Pauses of a task's clock (听证, 鉴定/检测, 补充材料): ask, approve or refuse, resume; the reasons and rules."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from app.services import pauses
from app.web.api import bp
from app.web.api.schemas import load
from app.web.context import current_actor, platform


class PauseRequest(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=40),
                           error_messages={"required": "请选择暂停原因"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class PauseDecision(Schema):
    opinion = fields.String(load_default="", validate=validate.Length(max=2000))


@bp.get("/pause-reasons")
def pause_reasons() -> ResponseReturnValue:
    return jsonify({"items": pauses.list_reasons(platform())})


@bp.get("/cases/<int:case_id>/pauses")
def case_pauses(case_id: int) -> ResponseReturnValue:
    return jsonify({"items": pauses.list_case_pauses(platform(), current_actor(), case_id)})


@bp.post("/tasks/<task_id>/pause")
def request_pause(task_id: str) -> ResponseReturnValue:
    data = load(PauseRequest())
    return jsonify(pauses.request_pause(platform(), current_actor(), task_id, data["reason"], data["note"])), 201


@bp.post("/pauses/<int:pause_id>/approve")
def approve_pause(pause_id: int) -> ResponseReturnValue:
    data = load(PauseDecision())
    return jsonify(pauses.decide_pause(platform(), current_actor(), pause_id, True, data["opinion"]))


@bp.post("/pauses/<int:pause_id>/refuse")
def refuse_pause(pause_id: int) -> ResponseReturnValue:
    data = load(PauseDecision())
    return jsonify(pauses.decide_pause(platform(), current_actor(), pause_id, False, data["opinion"]))


@bp.post("/pauses/<int:pause_id>/resume")
def resume_pause(pause_id: int) -> ResponseReturnValue:
    return jsonify(pauses.resume(platform(), current_actor(), pause_id))
