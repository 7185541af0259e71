"""统计报表: the fixed report page (any period, any unit in scope) with its SVG charts, and its PDF."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from app.documents.renderer import default_renderer
from app.domain import charts
from app.errors import Conflict, Invalid
from app.services import custom_reports, reports, saved_reports, tabular
from app.web.api.reports import unit_arg
from app.web.context import current_actor, platform
from app.web.downloads import file_response

bp = Blueprint("reports", __name__)


def _date(name: str, default: date | None) -> date | None:
    raw = request.args.get(name) or None
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("日期格式有误", {name: "日期格式应为 YYYY-MM-DD"}) from None


def _report() -> tuple[dict[str, Any], dict[str, Markup]]:
    reports.require_reader(current_actor())  # before the input: nobody else learns what it accepts
    kind = request.args.get("period", "month")
    day = _date("day", platform().clock.now().date())
    assert day is not None
    period = reports.period_of(kind, day, _date("until", None))
    found = reports.report(platform(), current_actor(), period, unit_arg())
    return found, chart_set(found)


def _pairs(rows: list[dict[str, Any]]) -> list[tuple[str, float]]:
    return [(r["label"], r["count"]) for r in rows]


def chart_set(found: dict[str, Any]) -> dict[str, Markup]:
    """The report's charts as SVG markup (every text escaped by app/domain/charts.py)."""
    trend = found["trend"]
    years = list(trend)
    ranked = [(r["unit"], r["rates"]["score"] / 100) for r in found["ranking"] if r["rates"]["score"] is not None]
    svg = {
        "trend": charts.line_chart(f"{years[-1]}年与{years[0]}年逐月受理量", {f"{y}年": trend[y] for y in years},
                                   [f"{m}月" for m in range(1, 13)]),
        "category": charts.bar_chart("本期受理量:按事项分类", _pairs(found["intake"]["category"])),
        "area": charts.bar_chart("本期受理量:按区域", _pairs(found["intake"]["area"])),
        "lights": charts.light_bars("当前待办:各单位红黄绿灯", found["lights"]),
        "ranking": charts.bar_chart("各承办单位综合得分排名", ranked, percent=True),
    }
    return {k: Markup(v) for k, v in svg.items()}  # noqa: S704 — built from escaped text only


@bp.get("/reports")
def report_page() -> ResponseReturnValue:
    found, svg = _report()
    body = Markup(default_renderer().render_html("_report_body", {"report": found, "charts": svg}))  # noqa: S704 — autoescaped
    return render_template("reports/index.html", report=found, body=body, periods=reports.PERIODS,
                           units=reports.unit_choices(platform(), current_actor()), args=request.args)


@bp.get("/reports/report.xlsx")
def report_xlsx() -> ResponseReturnValue:
    found, _ = _report()
    if not found["balance"]["ok"]:
        raise Conflict("平衡校验未通过(上期结转 + 本期新增 ≠ 办结 + 退回 + 终结 + 期末在办),报表不予导出,请核查数据")
    return file_response(tabular.workbook(reports.report_sheets(found)),
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         f"统计报表-{found['period']['start']}.xlsx")


@bp.get("/reports/report.pdf")
def report_pdf() -> ResponseReturnValue:
    found, svg = _report()
    if not found["balance"]["ok"]:
        raise Conflict("平衡校验未通过(上期结转 + 本期新增 ≠ 办结 + 退回 + 终结 + 期末在办),报表不予打印,请核查数据")
    pdf = default_renderer().render_pdf("statistics_report", {"report": found, "charts": svg})
    return file_response(pdf, "application/pdf", f"统计报表-{found['period']['start']}.pdf")


@bp.get("/reports/custom")
def custom_page() -> ResponseReturnValue:
    """自定义报表: dimensions × one measure × filters as a pivot table and a bar chart of the first column."""
    reports.require_reader(current_actor())
    a = request.args
    day = _date("day", platform().clock.now().date())
    assert day is not None
    period = reports.period_of(a.get("period", "month"), day, _date("until", None))
    query = custom_reports.CustomQuery(rows=a.get("rows", "unit"), measure=a.get("measure", "new"),
                                columns=a.get("columns") or None, kind=a.get("kind") or None,
                                channel=a.get("channel") or None, category=a.get("category") or None)
    found = custom_reports.custom(platform(), current_actor(), period, query)
    first = [(r["label"], float(r["cells"][0] or 0)) for r in found["rows"]]
    first.sort(key=lambda p: -p[1])
    chart = Markup(charts.bar_chart(f"{found['measure_label']}:按{custom_reports.CUSTOM_DIMENSIONS[query.rows]}",  # noqa: S704
                                    first, percent=found["is_rate"]))
    return render_template("reports/custom.html", found=found, chart=chart, q=query, args=a,
                           periods=reports.PERIODS, dimensions=custom_reports.CUSTOM_DIMENSIONS,
                           measures=custom_reports.CUSTOM_MEASURES,
                           saved=saved_reports.listed(platform(), current_actor()),
                           params={k: v for k, v in {"period": period.kind, **query.__dict__}.items() if v})


@bp.post("/reports/custom/saved")
def save_custom() -> ResponseReturnValue:
    """保存自定义报表: the question of the page, private or shared with the unit."""
    params = {k: v for k, v in request.form.items() if k in saved_reports.PARAMS}
    saved_reports.save(platform(), current_actor(), request.form.get("name", ""), params,
                       shared=request.form.get("shared") == "1")
    kept: dict[str, Any] = saved_reports.question(params)
    return redirect(url_for("reports.custom_page", **kept))


@bp.post("/reports/custom/saved/<int:report_id>/delete")
def delete_custom(report_id: int) -> ResponseReturnValue:
    saved_reports.delete(platform(), current_actor(), report_id)
    return redirect(url_for("reports.custom_page"))


def _year() -> int:
    raw = request.args.get("year") or str(platform().clock.now().year - 1)
    if not raw.isdigit():
        raise Invalid("年份有误", {"year": "年份应为四位数字"})
    return int(raw)


@bp.get("/reports/annual.<any(pdf, xlsx):fmt>")
def annual_report(fmt: str) -> ResponseReturnValue:
    """年度工作报告 draft (信访工作条例 art. 41) for `year` (default: last year), as PDF or XLSX to edit."""
    reports.require_reader(current_actor())
    found = reports.annual(platform(), current_actor(), _year())
    name = f"{found['year']}年度信访工作报告(草稿)"
    if fmt == "xlsx":
        return file_response(tabular.workbook(reports.report_sheets(found)),
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{name}.xlsx")
    pdf = default_renderer().render_pdf("annual_report", {"report": found, "charts": chart_set(found)})
    return file_response(pdf, "application/pdf", f"{name}.pdf")
