"""来电/来访登记 for agents, and the duplicate hint the form asks for while the agent types."""

from __future__ import annotations

import secrets

from flask import jsonify, render_template, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import workstation
from app.web.context import current_actor, platform, requires
from app.web.pages import bp

FIELDS = ("kind", "channel", "category", "name", "phone", "id_number", "address", "subject", "content")


def _form(values: dict[str, str], errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    return render_template("intake.html", refs=workstation.reference(platform()), v=values, errors=errors,
                           key=values.get("request_key") or secrets.token_urlsafe(16)), status


@bp.get("/intake")
@requires("case.create")
def intake_form() -> ResponseReturnValue:
    return _form({"channel": "phone", "kind": "complaint"}, {})


@bp.post("/intake")
@requires("case.create")
def intake_submit() -> ResponseReturnValue:
    """Register; the form's one-time key makes a double click or a refresh answer the same case."""
    values = {k: request.form.get(k, "") for k in (*FIELDS, "duplicate_of", "request_key")}
    try:
        result = workstation.register_from_form(platform(), current_actor(), values,
                                                values["request_key"][:60] or None)
    except Invalid as e:
        errors = e.details or {"__all__": e.message}
        return _form(values, errors, 422)
    return render_template("intake_done.html", r=result, duplicate_of=values["duplicate_of"])


@bp.get("/intake/duplicates")
@requires("case.create")
def duplicates() -> ResponseReturnValue:
    """JSON: the requester's cases of the last 90 days, for the hint under the phone and ID fields."""
    return jsonify(workstation.duplicate_hint(platform(), current_actor(), request.args.get("phone", ""),
                                              request.args.get("id_number", "")))
