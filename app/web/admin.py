"""Administrators' pages: the SMS outbox and the cases waiting in an incident."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from app.services import incidents, messages
from app.web.context import current_actor, platform

bp = Blueprint("admin", __name__, url_prefix="/admin")

STATUS_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}


@bp.get("/messages")
def message_list() -> ResponseReturnValue:
    status = request.args.get("status") or None
    items = messages.list_messages(platform(), current_actor(), status=status)
    return render_template("admin/messages.html", items=items, status=status, labels=STATUS_LABELS)


@bp.get("/incidents")
def incident_list() -> ResponseReturnValue:
    return render_template("admin/incidents.html", items=incidents.list_incidents(platform(), current_actor()))
