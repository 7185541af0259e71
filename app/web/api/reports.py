"""Fixed reports over the API: the monthly report's rates, counts and balance check."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import Invalid
from app.services import reports
from app.web.api import bp
from app.web.context import current_actor, platform


def unit_arg() -> int | None:
    raw = request.args.get("unit") or None
    if raw is None:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise Invalid("单位有误", {"unit": "单位应为单位编号(正整数)"})
    return int(raw)


@bp.get("/reports/monthly")
def monthly_report() -> ResponseReturnValue:
    """`month=YYYY-MM[&unit=ID]`: `rates`, `counts`, `balance` (five terms and `ok`), `definitions`."""
    reports.require_reader(current_actor())  # before the input: nobody else learns what it accepts
    period = reports.parse_month(request.args.get("month", ""))
    return jsonify(reports.report(platform(), current_actor(), period, unit_arg(), full=False))
