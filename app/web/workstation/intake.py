"""来电/来访登记 for agents (prefilled from an answered call), and the duplicate hint the form asks for."""

from __future__ import annotations

import secrets

from flask import jsonify, render_template, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate

from app.errors import Invalid
from app.services import workstation
from app.services.attachments import Upload
from app.web.api.schemas import load
from app.web.context import current_actor, platform
from app.web.workstation.blueprint import bp


class DuplicateQuery(Schema):
    """What the hint posts: the numbers, place and text typed so far (any may be empty)."""

    class Meta:
        unknown = EXCLUDE

    phone = fields.String(load_default="", validate=validate.Length(max=40))
    id_number = fields.String(load_default="", validate=validate.Length(max=40))
    subject = fields.String(load_default="", validate=validate.Length(max=200))
    content = fields.String(load_default="", validate=validate.Length(max=20000))
    location = fields.String(load_default="", validate=validate.Length(max=200))
    category = fields.String(load_default="", validate=validate.Length(max=80))


FIELDS = ("kind", "channel", "category", "name", "phone", "id_number", "address", "subject", "content",
          "direct_reply", "location", "area", "lat", "lng")


def _form(values: dict[str, str], errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    settings = platform().settings
    return render_template("intake.html", refs=workstation.reference(platform()), v=values, errors=errors,
                           key=values.get("request_key") or secrets.token_urlsafe(16),
                           max_files=settings.ATTACHMENT_MAX_FILES,
                           max_mb=settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)), status


@bp.get("/intake")
def intake_form() -> ResponseReturnValue:
    """The empty form, or with `?call=<id>` (the screen pop's link) prefilled from the call this agent answered."""
    call = request.args.get("call", "")
    call_id = int(call) if call.isdecimal() and call.isascii() else None
    return _form(workstation.intake_start(platform(), current_actor(), call_id), {})


@bp.post("/intake")
def intake_submit() -> ResponseReturnValue:
    """Register; the form's one-time key makes a double click or a refresh answer the same case."""
    values = {k: request.form.get(k, "") for k in (*FIELDS, "anonymous", "screened", "confidential", "duplicate_of",
                                                   "call_id", "request_key", "knowledge_entry")}
    files = [Upload(f.filename or "", f.read()) for f in request.files.getlist("attachments") if f.filename]
    try:
        result = workstation.register_from_form(platform(), current_actor(), values, values["request_key"] or None,
                                                files)
    except Invalid as e:
        errors = e.details or {"__all__": e.message}
        return _form(values, errors, 422)
    return render_template("intake_done.html", r=result, duplicate_of=values["duplicate_of"],
                           notices=result.get("notices") or {})


@bp.post("/intake/duplicates")
def duplicates() -> ResponseReturnValue:
    """JSON: earlier cases of the same requester or the same matter, for the hint under the form.

    A POST with a JSON body (and the CSRF header), so the phone and ID numbers never reach an access log.
    """
    typed = load(DuplicateQuery())
    return jsonify(workstation.duplicate_hint(platform(), current_actor(), typed))
