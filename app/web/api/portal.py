"""POST /api/v1/portal/lookup: a case's status and public timeline by 受理号 + 查询码, without a token.

An unknown 受理号 and a wrong 查询码 answer the same 404 body after the same work; rate-limited per address,
per 受理号, per 查询码 and overall (app.services.portal)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.errors import NotFound
from app.services import portal
from app.web.api import bp
from app.web.api.schemas import PortalLookup, load
from app.web.context import client_ip, platform

PUBLIC_FIELDS = ("number", "status", "status_label", "kind_label", "subject", "created_at", "due_at", "lead_unit",
                 "timeline", "reply", "guard", "may_rate", "may_request_review")


@bp.post("/portal/lookup")
def portal_lookup() -> ResponseReturnValue:
    data = load(PortalLookup())
    try:
        view = portal.lookup(platform(), data["number"], data["query_code"], client_ip())
    except NotFound as e:
        return jsonify(code="not_found", message=e.message, details={}), 404
    return jsonify({k: view[k] for k in PUBLIC_FIELDS})
