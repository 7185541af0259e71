"""The workstation pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from app.domain.roles import ROLES
from app.web.context import current_actor

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    actor = current_actor()
    return render_template("home.html", actor=actor, role_names=[ROLES[r] for r in sorted(actor.roles)])
