"""The audit log for auditors (审计员): read with filters, newest first, and the chain verified."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import audit
from app.web.api import bp
from app.web.context import current_actor, platform


@bp.get("/audit")
@bp.get("/audit-events")  # the first name, kept for existing clients
def list_audit_events() -> ResponseReturnValue:
    actor = current_actor()  # who asks first: a stranger gets 401, not a lesson in filters
    return jsonify(audit.list_events(platform(), actor, audit.parse_filter(request.args)))


@bp.post("/audit-events/verify")
def verify_audit_chain() -> ResponseReturnValue:
    actor = current_actor()
    body = request.get_json(silent=True)
    head = body.get("head") if isinstance(body, dict) else None
    if head is not None and not isinstance(head, str):
        raise Invalid("提交的内容有误", {"head": "应为 记录号:校验码"})
    return jsonify(audit.verify_for(platform(), actor, audit.parse_head(head)))
