"""The unit tree on the API: every signed-in caller may read it (id, name, parent_id, kind)."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.services import units
from app.web.api import bp
from app.web.context import current_actor, platform


@bp.get("/units")
def unit_list() -> ResponseReturnValue:
    current_actor()
    active_only = request.args.get("active") in ("1", "true")
    return jsonify(items=[u.as_json() for u in units.list_units(platform(), active_only=active_only)])
