"""Open311 GeoReport v2 under /open311/v2/, every path as the spec names it, in XML (lxml) and JSON.

Open without sign-in (GET answers carry no personal data; counted per address in the `public` bucket); POST
requests is signed with `api_key`, a channel key of channel `open311`. Errors answer in the spec's format —
`[{"code": 400, "description": "…"}]` or `<errors><error><code>400</code><description>…` — with Chinese
descriptions naming the parameter. The mapping itself is app/services/open311.py.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, Response, json, request
from flask.typing import ResponseReturnValue
from lxml import etree
from werkzeug.exceptions import HTTPException

from app.errors import HuiyinError, Invalid, Malformed, NotPermitted, NotSignedIn, RateLimited
from app.services import open311
from app.web.context import client_ip, platform, rate_limited
from app.web.errors import HTTP_MESSAGES

log = logging.getLogger("huiyin.web")

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMAT = "<any(json, xml):fmt>"
# A list's element name in XML is the singular of its parent's.
ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
         "endpoints": "endpoint", "formats": "format", "errors": "error"}
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'  # as the spec writes it
# What XML 1.0 cannot carry though our text may (the intake keeps text as typed, refusing only NUL).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MIME = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _answer(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False).encode()
    else:
        body = DECLARATION + etree.tostring(_element(root, value), encoding="UTF-8", xml_declaration=False)
    return Response(body, status=status, content_type=MIME[fmt])


def _element(name: str, value: Any) -> etree._Element:
    """One value as an element: a dict's keys and a list's items become children; true/false, numbers, text."""
    element = etree.Element(name)
    if isinstance(value, dict):
        for key, child in value.items():
            element.append(_element(key, child))
    elif isinstance(value, list):
        for child in value:
            element.append(_element(ITEMS.get(name, "item"), child))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("\ufffd", str(value))
    return element


def _format() -> str:
    """The format an error answers in: the one the path asked for, XML (the spec's required one) otherwise."""
    return "json" if request.path.endswith(".json") else "xml"


@bp.get(f"/discovery.{FORMAT}")
@rate_limited()
def discovery(fmt: str) -> ResponseReturnValue:
    return _answer(fmt, "discovery", open311.discovery(request.url_root.rstrip("/") + (bp.url_prefix or "")))


@bp.get(f"/services.{FORMAT}")
@rate_limited()
def services(fmt: str) -> ResponseReturnValue:
    return _answer(fmt, "services", open311.list_services(platform()))


@bp.get(f"/services/<path:code>.{FORMAT}")
@rate_limited()
def service_definition(code: str, fmt: str) -> ResponseReturnValue:
    """A category code holds a slash (城乡建设/供水): the path converter takes it, written plain or as %2F."""
    return _answer(fmt, "service_definition", open311.service_definition(platform(), code))


@bp.get(f"/requests.{FORMAT}")
@rate_limited()
def request_list(fmt: str) -> ResponseReturnValue:
    return _answer(fmt, "service_requests", open311.find_requests(platform(), request.args.to_dict()))


@bp.post(f"/requests.{FORMAT}")
def create_request(fmt: str) -> ResponseReturnValue:
    """The spec's form parameters (or the same as a JSON object); a client may add an Idempotency-Key header."""
    created = open311.create_request(platform(), _parameters(), client_ip(), request.headers.get("Idempotency-Key"))
    return _answer(fmt, "service_requests", created, 201)


@bp.get(f"/requests/<number>.{FORMAT}")
@rate_limited()
def service_request(number: str, fmt: str) -> ResponseReturnValue:
    return _answer(fmt, "service_requests", open311.get_request(platform(), number))


@bp.get(f"/tokens/<token>.{FORMAT}")
@rate_limited()
def token_lookup(token: str, fmt: str) -> ResponseReturnValue:
    return _answer(fmt, "service_requests", open311.find_token(platform(), token))


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST"])
@bp.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest: str) -> ResponseReturnValue:
    """Any other path under /open311/v2/ answers 404 in the spec's format, not the site's error page."""
    return _errors(404, [f"没有此接口:/open311/v2/{rest[:80]}(见 discovery.xml)"])


def _parameters() -> dict[str, str]:
    """The POST's parameters as text: a form (the spec's way), else a JSON object's scalar values."""
    if request.form or not request.is_json:
        return request.form.to_dict()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("请求体应为表单或 JSON 对象")
    return {str(k): str(v) for k, v in body.items() if isinstance(v, str | int | float) and not isinstance(v, bool)}


def _errors(status: int, descriptions: list[str]) -> Response:
    return _answer(_format(), "errors", [{"code": status, "description": d} for d in descriptions], status)


def _descriptions(e: HuiyinError) -> list[str]:
    """One description per parameter at fault, each naming it; else the message."""
    lines = [message if field in message else f"{field}:{message}" for field, message in e.details.items()
             if isinstance(message, str) and not field.startswith("_")]
    return lines or [e.message]


@bp.errorhandler(HuiyinError)
def _refused(e: HuiyinError) -> Response:
    """The spec's codes: 400 for what the request got wrong, 403 for a missing or bad api_key, 404, 429."""
    if isinstance(e, Invalid | Malformed):
        status = 400
    elif isinstance(e, NotSignedIn | NotPermitted):
        status = 403
    else:
        status = e.status
    response = _errors(status, _descriptions(e))
    if isinstance(e, RateLimited):
        response.headers["Retry-After"] = str(e.retry_after)
    return response


@bp.errorhandler(HTTPException)
def _http(e: HTTPException) -> Response:
    status = e.code or 500
    return _errors(status, [HTTP_MESSAGES.get(status, "请求有误")])


@bp.errorhandler(Exception)
def _unexpected(e: Exception) -> Response:
    log.exception("unhandled error on %s", request.path)
    return _errors(500, [HTTP_MESSAGES[500]])
