"""Telephony pages: the 回呼 callback list, the agent's screen pop (short polling) and call recordings."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from app.services import callbacks, calls, recordings
from app.web.context import current_actor, platform

bp = Blueprint("calls", __name__)


@bp.get("/callbacks")
def callback_list() -> ResponseReturnValue:
    items = callbacks.callback_list(platform(), current_actor())
    return render_template("calls/callbacks.html", items=items, outcomes=callbacks.CALLBACK_OUTCOMES)


@bp.post("/callbacks/<int:callback_id>/attempts")
def record_attempt(callback_id: int) -> ResponseReturnValue:
    callbacks.record_callback_attempt(platform(), current_actor(), callback_id, request.form.get("outcome", ""))
    return redirect(url_for("calls.callback_list"))


@bp.get("/calls/pop")
def screen_pop() -> ResponseReturnValue:
    return jsonify(items=calls.pending_pops(platform(), current_actor()))


@bp.post("/calls/<int:call_id>/taken")
def take_call(call_id: int) -> ResponseReturnValue:
    calls.mark_call_taken(platform(), current_actor(), call_id)
    return jsonify(ok=True)


@bp.get("/calls/<int:call_id>/recording")
def recording(call_id: int) -> ResponseReturnValue:
    path = recordings.recording_for(platform(), current_actor(), call_id)
    return send_file(path, conditional=True, max_age=0)
