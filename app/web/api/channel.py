"""Cases from integrations signed with a channel key (header X-Channel-Key), not a user's bearer token."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.services import channels
from app.web.api import bp
from app.web.api.schemas import json_object
from app.web.context import client_ip, platform


@bp.post("/channel/cases")
def channel_case() -> ResponseReturnValue:
    """The body is the intake's (as POST /cases); the channel is the key's."""
    result = channels.submit(platform(), request.headers.get("X-Channel-Key"), client_ip(), json_object(),
                             request.headers.get("Idempotency-Key"))
    return jsonify(result), 201
