"""Cases: register (idempotent), read, supervise."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.services import cases, intake, tasks
from app.services.cases import RequesterInput
from app.web.api import bp
from app.web.api.schemas import CaseCreate, Supervision, load
from app.web.context import current_actor, platform


@bp.post("/cases")
def create_case() -> ResponseReturnValue:
    data = load(CaseCreate())
    r = data["requester"]
    case_input = intake.CaseInput(
        kind=data["kind"], channel=data["channel"], category=data.get("category"), subject=data["subject"],
        content=data["content"], process=data.get("process"), duplicate_of=data.get("duplicate_of"),
        requester=RequesterInput(name=r["name"], phone=r.get("phone"), id_number=r.get("id_number"),
                                 address=r.get("address")))
    key = request.headers.get("Idempotency-Key")
    result = intake.register_case(platform(), current_actor(), case_input, key[:100] if key else None)
    return jsonify(result), 201


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int) -> ResponseReturnValue:
    reveal = request.args.get("reveal") == "1"
    return jsonify(cases.read_case(platform(), current_actor(), case_id, reveal=reveal))


@bp.post("/cases/<int:case_id>/supervise")
def supervise(case_id: int) -> ResponseReturnValue:
    data = load(Supervision())
    return jsonify(tasks.supervise(platform(), current_actor(), case_id, data["note"]))
