"""判重 for API clients: the earlier cases a draft may repeat, ranked, with their reasons."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.services import duplicates
from app.web.api import bp
from app.web.api.schemas import json_object
from app.web.context import current_actor, platform


@bp.post("/duplicates")
def find_duplicates() -> ResponseReturnValue:
    """The intake fields of a draft (all optional but `content`) → candidates and the decision on the best."""
    return jsonify(duplicates.check(platform(), current_actor(), json_object()))
