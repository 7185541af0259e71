"""The citizens' portal, open without sign-in: /portal (submit), /portal/lookup (by 受理号 + 查询码, or by
phone + ID number + SMS code), /portal/cases/<受理号> (status, public timeline, reply; rate it; ask for 复查).

Thin routes over app.services.portal. A look-up that succeeds leaves its proof in the signed session cookie
(`portal_cases`: the case ids this browser proved, for PROOF_HOURS); the case pages need it. CSRF guards
every form (Flask-WTF, as on the staff pages).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.errors import Conflict, HuiyinError, Invalid, NotFound
from app.services import attachments, portal
from app.web.context import client_ip, platform

bp = Blueprint("portal", __name__, url_prefix="/portal")
PROOF_HOURS = 2
SUBMIT_FIELDS = ("kind", "category", "subject", "content", "name", "phone", "id_number", "address", "location",
                 "area", "lat", "lng")


@bp.after_request
def _no_store(response: Response) -> Response:
    """A citizen's case, 查询码 or reply may be on the page: no cache keeps a copy (a shared phone, a proxy)."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HuiyinError)
def _refused(e: HuiyinError) -> ResponseReturnValue:
    """Rate limits and other refusals on a portal page: the portal's own page, not the staff one."""
    response = render_template("portal/error.html", status=e.status, message=e.message, details=e.details), e.status
    if getattr(e, "retry_after", None):
        return (*response, {"Retry-After": str(e.retry_after)})  # type: ignore[attr-defined]
    return response


def _prove(case_ids: list[int]) -> None:
    proved = {int(k): v for k, v in (session.get("portal_cases") or {}).items() if v > time.time()}
    until = time.time() + PROOF_HOURS * 3600
    proved.update({cid: until for cid in case_ids})
    session["portal_cases"] = {str(k): v for k, v in list(proved.items())[-50:]}


def _proved(case_id: int) -> bool:
    until = (session.get("portal_cases") or {}).get(str(case_id))
    return isinstance(until, int | float) and until > time.time()


def _form(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> ResponseReturnValue:
    return render_template("portal/submit.html", refs=portal.reference(platform()), v=values, errors=errors,
                           key=values.get("request_key") or secrets.token_urlsafe(16),
                           max_files=platform().settings.ATTACHMENT_MAX_FILES,
                           max_mb=platform().settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)), status


@bp.get("")
def submit_form() -> ResponseReturnValue:
    return _form({"kind": "complaint"}, {})


@bp.post("")
def submit() -> ResponseReturnValue:
    """Register the appeal; the form's one-time key makes a retried POST answer the same case."""
    values: dict[str, Any] = {k: request.form.get(k, "") for k in (*SUBMIT_FIELDS, "request_key")}
    values["confidential"] = bool(request.form.get("confidential"))
    values["petition"] = bool(request.form.get("petition"))
    uploads = [attachments.Upload(f.filename or "", f.read()) for f in request.files.getlist("attachments")
               if f.filename]
    try:
        files = attachments.checked(platform(), uploads)
        form = portal.Submission(**{k: values[k] for k in SUBMIT_FIELDS},
                                 confidential=values["confidential"], petition=values["petition"])
        result = portal.submit(platform(), form, files, values["request_key"] or None, client_ip())
    except Invalid as e:
        return _form(values, e.details or {"__all__": e.message}, 422)
    _prove([result["id"]])
    return render_template("portal/done.html", r=result)


@bp.get("/lookup")
def lookup_form() -> ResponseReturnValue:
    return render_template("portal/lookup.html", v={}, errors={}, message=None)


@bp.post("/lookup")
def lookup() -> ResponseReturnValue:
    """By 受理号 + 查询码: an unknown number and a wrong code get the same page (404)."""
    number, code = request.form.get("number", ""), request.form.get("query_code", "")
    try:
        view = portal.lookup(platform(), number, code, client_ip())
    except NotFound as e:
        return render_template("portal/lookup.html", v={"number": number}, errors={"number": e.message},
                               message=None), 404
    case_id = _case_id(view["number"])
    _prove([case_id])
    portal.record_view(platform(), case_id, "query_code")
    return redirect(url_for("portal.case_page", number=view["number"]))


@bp.post("/lookup/sms")
def send_code() -> ResponseReturnValue:
    phone, tail = request.form.get("phone", ""), request.form.get("id_tail", "")
    try:
        portal.send_code(platform(), phone, tail, client_ip())
    except Invalid as e:
        return render_template("portal/lookup.html", v={"phone": phone, "id_tail": tail}, errors=e.details,
                               message=None, by_phone=True), 422
    return render_template("portal/lookup.html", v={"phone": phone, "id_tail": tail}, errors={}, by_phone=True,
                           message="如手机号和身份证号与登记信息相符,验证码已发送至该手机,10 分钟内有效。")


@bp.post("/lookup/phone")
def lookup_by_phone() -> ResponseReturnValue:
    phone, tail, code = (request.form.get(k, "") for k in ("phone", "id_tail", "sms_code"))
    try:
        items = portal.verify_code(platform(), phone, tail, code, client_ip())
    except (Invalid, NotFound) as e:
        return render_template("portal/lookup.html", v={"phone": phone, "id_tail": tail}, by_phone=True,
                               errors=e.details or {"sms_code": e.message}, message=None), e.status
    _prove([i["id"] for i in items])
    return render_template("portal/list.html", items=items)


def _case_id(number: str) -> int:
    found = portal.case_id_of(platform(), number)
    if found is None:
        raise NotFound(portal.NOT_FOUND)
    return found


@bp.get("/cases/<number>")
def case_page(number: str) -> ResponseReturnValue:
    case_id = portal.case_id_of(platform(), number)
    if case_id is None or not _proved(case_id):
        return redirect(url_for("portal.lookup_form"))
    return render_template("portal/case.html", c=portal.case_for(platform(), case_id), errors={}, flash=None)


def _act(number: str, action: Any, *args: str, done: str) -> ResponseReturnValue:
    case_id = portal.case_id_of(platform(), number)
    if case_id is None or not _proved(case_id):
        return redirect(url_for("portal.lookup_form"))
    try:
        view = action(platform(), case_id, *args)
    except (Invalid, Conflict) as e:
        return render_template("portal/case.html", c=portal.case_for(platform(), case_id),
                               errors=e.details or {"__all__": e.message}, flash=None), e.status
    return render_template("portal/case.html", c=view, errors={}, flash=done)


@bp.post("/cases/<number>/rating")
def rate(number: str) -> ResponseReturnValue:
    return _act(number, portal.rate, request.form.get("satisfaction", ""), request.form.get("comment", ""),
                done="感谢您的评价,已记录。")


@bp.post("/cases/<number>/review")
def request_review(number: str) -> ResponseReturnValue:
    return _act(number, portal.request_review, request.form.get("reason", ""),
                done="复查申请已提交,复查机关将依法办理并书面答复。")
