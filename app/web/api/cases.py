"""Cases: register (idempotent), read, supervise."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.services import cases, intake, tasks
from app.web.api import bp
from app.web.api.schemas import Supervision, json_object, load
from app.web.context import current_actor, platform


@bp.post("/cases")
def create_case() -> ResponseReturnValue:
    """The body goes whole to the one intake validator (app.domain.intake), as the intake page's fields do."""
    actor = current_actor()
    result = intake.register(platform(), actor, json_object(), request.headers.get("Idempotency-Key"))
    return jsonify(result), 201


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int) -> ResponseReturnValue:
    reveal = request.args.get("reveal") == "1"
    return jsonify(cases.read_case(platform(), current_actor(), case_id, reveal=reveal))


@bp.post("/cases/<int:case_id>/supervise")
def supervise(case_id: int) -> ResponseReturnValue:
    data = load(Supervision())
    return jsonify(tasks.supervise(platform(), current_actor(), case_id, data["note"]))
