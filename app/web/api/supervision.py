"""电子监察 for the centre's leaders: each unit's flag counts for a month."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.services import e_supervision
from app.web.api import bp
from app.web.context import current_actor, platform


@bp.get("/supervision")
def supervision_table() -> ResponseReturnValue:
    return jsonify(e_supervision.supervision_report(platform(), current_actor(), request.args.get("month")))
