"""Tokens for API clients, and who the caller is."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.services import auth
from app.web.api import bp
from app.web.api.schemas import TokenRequest, load
from app.web.context import client_ip, current_actor, platform


@bp.post("/auth/token")
def issue_token() -> ResponseReturnValue:
    data = load(TokenRequest())
    token = auth.issue_user_token(platform(), data["staff_no"], data["password"], client_ip())
    return jsonify(token=token, token_type="Bearer",  # noqa: S106
                   expires_in=platform().settings.API_TOKEN_HOURS * 3600), 201


@bp.get("/me")
def me() -> ResponseReturnValue:
    actor = current_actor()
    return jsonify(staff_no=actor.label, name=actor.name, roles=sorted(actor.roles), scope=actor.scope)
