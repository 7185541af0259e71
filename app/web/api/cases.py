"""Cases: register (idempotent), the combined query, read, supervise."""

from __future__ import annotations

from datetime import datetime

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.domain import case_query as query_rules
from app.errors import Invalid
from app.services import case_query, cases, intake, notices, tasks
from app.web.api import bp
from app.web.api.schemas import Supervision, json_object, load
from app.web.context import current_actor, platform


@bp.post("/cases")
def create_case() -> ResponseReturnValue:
    """The body goes whole to the one intake validator (app.domain.intake), as the intake page's fields do."""
    actor = current_actor()
    result = intake.register(platform(), actor, json_object(), request.headers.get("Idempotency-Key"))
    return jsonify(result), 201


@bp.get("/cases")
def search_cases() -> ResponseReturnValue:
    """The combined query: conditions as query parameters, `sort` (`-` for descending), keyset `after`/`before`;
    answers `items` and `next` (and `prev`). Unknown keys are a 422 naming the key."""
    query = query_rules.parse(request.args.to_dict(flat=False))
    return jsonify(case_query.search(platform(), current_actor(), query))


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int) -> ResponseReturnValue:
    reveal = request.args.get("reveal") == "1"
    return jsonify(cases.read_case(platform(), current_actor(), case_id, reveal=reveal))


@bp.post("/cases/<int:case_id>/documents/<kind>/served")
def serve_document(case_id: int, kind: str) -> ResponseReturnValue:
    """送达: how and when a notice reached the requester (`served_at` ISO, default now)."""
    body = json_object()
    method, at = body.get("method"), body.get("served_at")
    try:
        served_at = datetime.fromisoformat(at) if isinstance(at, str) and at else None
    except ValueError:
        served_at = None
        raise Invalid("送达时间格式应为 ISO 日期时间", {"served_at": "送达时间格式应为 ISO 日期时间"}) from None
    if served_at is not None and served_at.tzinfo is not None:
        raise Invalid("送达时间请写本地时间(不带时区)", {"served_at": "送达时间请写本地时间(不带时区)"})
    kind_key = kind.replace("-", "_")
    return jsonify(notices.serve(platform(), current_actor(), case_id, kind_key, str(method or ""), served_at))


@bp.post("/cases/<int:case_id>/supervise")
def supervise(case_id: int) -> ResponseReturnValue:
    data = load(Supervision())
    return jsonify(tasks.supervise(platform(), current_actor(), case_id, data["note"]))
