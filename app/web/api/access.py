"""Tokens for API clients, who the caller is, and the caller's own tokens."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from app.services import auth, sign_ins
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


@bp.get("/me/tokens")
def my_tokens() -> ResponseReturnValue:
    """The caller's own bearer tokens, live and ended, newest first (never the secrets)."""
    now = platform().clock.now()
    return jsonify(items=[t.as_json(now) for t in sign_ins.list_own_tokens(platform(), current_actor())])


@bp.delete("/me/tokens/<int:token_id>")
def revoke_my_token(token_id: int) -> ResponseReturnValue:
    sign_ins.revoke_own_token(platform(), current_actor(), token_id)
    return "", 204


@bp.post("/me/sign-out-everywhere")
def sign_out_everywhere() -> ResponseReturnValue:
    """End every session and token of the caller, this token included."""
    n = sign_ins.sign_out_everywhere(platform(), current_actor())
    return jsonify(tokens_revoked=n)
