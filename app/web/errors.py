"""Errors to HTTP in one place: JSON {code, message, details} on the API, a Chinese page elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.domain.calendar import CalendarYearMissing
from app.errors import CaseOutOfScope, HuiyinError, RateLimited
from app.services import cases
from app.web.context import current_actor, platform

log = logging.getLogger("huiyin.web")

HTTP_MESSAGES = {
    400: "请求有误", 401: "请先登录", 403: "没有权限", 404: "页面或记录不存在", 405: "不支持的请求方式",
    409: "操作冲突", 413: "上传内容过大", 422: "提交的内容有误", 423: "账号已锁定", 429: "请求过于频繁",
    500: "系统内部错误,请稍后再试或联系系统管理员",
}


MAX_DETAILS = 20  # a request with 100,000 unknown keys gets 20 of them and a count, not megabytes


def capped(details: dict[str, object] | None) -> dict[str, object]:
    """The first MAX_DETAILS field errors, and under "_more" how many were left out."""
    details = details or {}
    if len(details) <= MAX_DETAILS:
        return details
    kept = dict(list(details.items())[:MAX_DETAILS])
    kept["_more"] = f"另有 {len(details) - MAX_DETAILS} 处错误未列出"
    return kept


def _answer(status: int, code: str, message: str, details: dict[str, object] | None = None) -> Response:
    details = capped(details)
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify(code=code, message=message, details=details)
    else:
        response = Response(render_template("error.html", status=status, message=message, details=details),
                            mimetype="text/html")
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(CaseOutOfScope)
    def _out_of_scope(e: CaseOutOfScope) -> Response:
        cases.record_denied_read(platform(), current_actor(), e.case_id)
        return _answer(e.status, e.code, e.message, e.details)

    @app.errorhandler(HuiyinError)
    def _domain(e: HuiyinError) -> Response:
        response = _answer(e.status, e.code, e.message, e.details)
        if isinstance(e, RateLimited):
            response.headers["Retry-After"] = str(e.retry_after)
        return response

    @app.errorhandler(CalendarYearMissing)
    def _calendar(e: CalendarYearMissing) -> Response:
        # Services answer CalendarNotConfirmed; this is the net under any read that meets the year itself.
        return _answer(409, "calendar_not_confirmed", e.message, {"calendar": e.message, "year": e.year})

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError) -> Response:
        return _answer(400, "csrf", "页面已过期或来源不明,请刷新页面后重试")

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException) -> Response:
        status = e.code or 500
        return _answer(status, "http_" + str(status), HTTP_MESSAGES.get(status, "请求有误"))

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Response:
        log.exception("unhandled error on %s", request.path)
        return _answer(500, "internal", HTTP_MESSAGES[500])
