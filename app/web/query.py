"""The combined query page (/query): the conditions as a GET form, the results with sortable columns and
keyset next/previous, saved queries, and exports with a progress bar (polling the job's status)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from app.domain import case_query as cq
from app.errors import Invalid
from app.services import case_query, exports, saved_queries
from app.web.context import current_actor, platform

bp = Blueprint("query", __name__)
COLUMNS = ("number", "created_at", "kind", "channel", "category", "subject", "status", "lead_unit", "due_at",
           "closed_at", "satisfaction")


@bp.get("/query")
def query_page() -> ResponseReturnValue:
    actor = current_actor()
    args = {k: v for k, v in request.args.to_dict(flat=False).items() if any(x.strip() for x in v)}
    error, details, result, query = None, {}, None, cq.CaseQuery()
    try:
        query = cq.parse(args)
        result = case_query.search(platform(), actor, query)
    except Invalid as e:
        error, details = e.message, e.details
    status = 422 if error else 200
    params = {k: v for k, v in args.items() if k not in ("after", "before")}
    return render_template("query.html", result=result, error=error, details=details, query=query, params=params,
                           args=args, columns=COLUMNS, sorts=cq.SORTS, conditions=cq.CONDITIONS,
                           choices=case_query.form_choices(platform()),
                           saved=saved_queries.listed(platform(), actor)), status


def _link(params: dict[str, list[str]], **change: str) -> str:
    merged: dict[str, Any] = {**params, **change}
    return url_for("query.query_page", **merged)


@bp.app_template_global("query_link")
def query_link(params: dict[str, list[str]], **change: str) -> str:
    return _link(params, **change)


@bp.post("/query/saved")
def save_query() -> ResponseReturnValue:
    params = {k: [v] for k, v in request.form.items() if k in cq.CONDITIONS or k == "sort"}
    params = {k: v for k, v in params.items() if v[0].strip()}
    saved_queries.save(platform(), current_actor(), request.form.get("name", ""), params,
                       shared=request.form.get("shared") == "1")
    kept: dict[str, Any] = params
    return redirect(url_for("query.query_page", **kept))


@bp.post("/query/saved/<int:query_id>/delete")
def delete_query(query_id: int) -> ResponseReturnValue:
    saved_queries.delete(platform(), current_actor(), query_id)
    return redirect(url_for("query.query_page"))


@bp.post("/query/exports")
def start_export() -> ResponseReturnValue:
    params = {k: v for k, v in request.form.items() if (k in cq.CONDITIONS or k == "sort") and v.strip()}
    job = exports.create(platform(), current_actor(), params, request.form.get("format", ""),
                         reveal=request.form.get("reveal") == "1")
    return redirect(url_for("query.export_page", job_id=job["id"]))


@bp.get("/query/exports/<int:job_id>")
def export_page(job_id: int) -> ResponseReturnValue:
    job = exports.status(platform(), current_actor(), job_id)
    return render_template("query_export.html", job=job)


@bp.get("/query/exports/<int:job_id>/status")
def export_status(job_id: int) -> ResponseReturnValue:
    job = exports.status(platform(), current_actor(), job_id)
    if job["url"]:
        job["url"] = url_for("query.export_file", job_id=job_id)
    return jsonify(job)


@bp.get("/query/exports/<int:job_id>/file")
def export_file(job_id: int) -> ResponseReturnValue:
    path, name = exports.file_of(platform(), current_actor(), job_id)
    return send_file(path, as_attachment=True, download_name=name)
