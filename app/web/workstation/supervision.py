"""电子监察 page for the centre's leaders: the flags per unit for a month (the same table as the API and CLI)."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import e_supervision
from app.web.context import current_actor, platform
from app.web.workstation.blueprint import bp


@bp.get("/supervision")
def supervision() -> ResponseReturnValue:
    month = request.args.get("month") or None
    try:
        table = e_supervision.supervision_report(platform(), current_actor(), month)
    except Invalid as e:
        table = e_supervision.supervision_report(platform(), current_actor())
        return render_template("supervision.html", t=table, error=e.message), 422
    return render_template("supervision.html", t=table, error=None)
