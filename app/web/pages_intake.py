"""来电/来访登记 for agents (prefilled from an answered call), and the duplicate hint the form asks for."""

from __future__ import annotations

import secrets

from flask import jsonify, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate

from app.domain.intake import MAX_ID
from app.errors import Invalid, NotFound
from app.services import calls, workstation
from app.web.api.schemas import load
from app.web.context import current_actor, platform, requires
from app.web.pages import bp


class DuplicateQuery(Schema):
    """What the hint posts: the numbers typed so far (either may be empty)."""

    class Meta:
        unknown = EXCLUDE

    phone = fields.String(load_default="", validate=validate.Length(max=40))
    id_number = fields.String(load_default="", validate=validate.Length(max=40))


FIELDS = ("kind", "channel", "category", "name", "phone", "id_number", "address", "subject", "content",
          "direct_reply")


def _form(values: dict[str, str], errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    return render_template("intake.html", refs=workstation.reference(platform()), v=values, errors=errors,
                           key=values.get("request_key") or secrets.token_urlsafe(16)), status


@bp.get("/intake")
@requires("case.create")
def intake_form() -> ResponseReturnValue:
    """The empty form, or with `?call=<id>` (the screen pop's link) prefilled from the call this agent answered."""
    values = {"channel": "phone", "kind": "complaint"}
    call = request.args.get("call", "")
    if call.isdecimal() and call.isascii():
        if int(call) > MAX_ID:
            raise NotFound("来电不存在")
        prefill = calls.intake_prefill(platform(), current_actor(), int(call))
        values |= {"call_id": str(prefill["call_id"]), "phone": prefill["requester"]["phone"] or "",
                   "caller_location": prefill["caller_location"] or ""}
    return _form(values, {})


@bp.post("/intake")
@requires("case.create")
def intake_submit() -> ResponseReturnValue:
    """Register; the form's one-time key makes a double click or a refresh answer the same case."""
    values = {k: request.form.get(k, "") for k in (*FIELDS, "anonymous", "duplicate_of", "call_id", "request_key")}
    try:
        result = workstation.register_from_form(platform(), current_actor(), values, values["request_key"] or None)
    except Invalid as e:
        errors = e.details or {"__all__": e.message}
        return _form(values, errors, 422)
    return render_template("intake_done.html", r=result, duplicate_of=values["duplicate_of"],
                           notices=result.get("notices") or {})


@bp.post("/intake/duplicates")
@requires("case.create")
def duplicates() -> ResponseReturnValue:
    """JSON: the requester's cases of the last 90 days, for the hint under the phone and ID fields.

    A POST with a JSON body (and the CSRF header), so the phone and ID numbers never reach an access log.
    """
    typed = load(DuplicateQuery())
    return jsonify(workstation.duplicate_hint(platform(), current_actor(), typed["phone"], typed["id_number"]))
