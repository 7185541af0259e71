"""Custom reports (自定义报表): one measure by a row dimension (× an optional column dimension), filtered, scoped —
on the same sums, scope and formulas as the fixed reports (app/services/reports.py), from the report summary
when one grain holds the question, else from the cases touching the period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import Session

from app.domain import rates
from app.domain import report_days as rd
from app.errors import Invalid
from app.models import Case
from app.services import dictionary, report_summary, reports
from app.services.actors import Actor
from app.services.platform import Platform

CUSTOM_DIMENSIONS = {"unit": "承办单位", "kind": "诉求类型", "channel": "来源渠道", "category": "事项分类",
                     "area": "所属区域", "month": "月份"}
CUSTOM_MEASURES = {"new": "新登记件数", "accepted": "受理件数", "replied": "答复件数", "rated": "有效回访件数",
                   "open_at_end": "期末在办", **{code: name for code, (name, _) in rates.DEFINITIONS.items()}}


CUSTOM_COLUMNS = {"unit": Case.lead_unit_id, "kind": Case.kind, "channel": Case.channel, "category": Case.category,
                  "area": Case.area_unit_id}


def _labels(session: Session, name: str, keys: list[Any]) -> dict[Any, str]:
    if name in ("unit", "area"):
        return reports.unit_names(session, [int(k) for k in keys if k is not None])
    if name in ("kind", "channel", "category"):
        return dictionary.labels(session, name, active_only=False)
    return {k: str(k) for k in keys}


@dataclass(frozen=True)
class CustomQuery:
    rows: str
    measure: str
    columns: str | None = None
    kind: str | None = None
    channel: str | None = None
    category: str | None = None  # the category and its subtree


def check(q: CustomQuery) -> None:
    """The custom question is one the engine answers (422 naming the field otherwise)."""
    errors = {}
    if q.rows not in CUSTOM_DIMENSIONS:
        errors["rows"] = "请选择行维度"
    if q.columns is not None and (q.columns not in CUSTOM_DIMENSIONS or q.columns == q.rows):
        errors["columns"] = "列维度应为另一维度(或不选)"
    if q.measure not in CUSTOM_MEASURES:
        errors["measure"] = "请选择统计指标"
    elif q.measure == "open_at_end" and "month" in (q.rows, q.columns):
        errors["measure"] = "期末在办不能按月份分列"
    if errors:
        raise Invalid("自定义报表条件有误", errors)


def cube(session: Session, whose: reports.Whose, q: CustomQuery, start: datetime, end: datetime
         ) -> dict[tuple[Any, ...], rd.Totals]:
    """The sums per tuple of dimension values — the engine of the custom reports, as of the fixed ones: from
    the summary when one grain holds the question (at most one dimension besides the month, no filter; a
    unit's reader: the unit dimension), else from the cases touching the period — summed by the database
    (`report_summary.grouped`), or, with the month (of each event) as a dimension, folded by the same
    app/domain/report_days.py functions the summary is made of."""
    dims = [q.rows, *([q.columns] if q.columns else [])]
    others = [d for d in dims if d != "month"]
    out: dict[tuple[Any, ...], rd.Totals] = {}
    if not (q.kind or q.channel or q.category) and len(others) <= 1 and (whose.keys is None
                                                                        or others in ([], ["unit"])):
        grain = others[0] if others else ("all" if whose.keys is None else "unit")
        summary = report_summary.read(session, grain, reports.day_of(start), reports.day_of(end), whose.keys,
                                      by_month="month" in dims)
        for (key, month), t in summary.items():
            cell = tuple(month if d == "month" else reports.dimension_key(d, key) for d in dims)
            out.setdefault(cell, rd.empty_totals()).merge(t)
        return out
    clauses = list(whose.clauses)
    if q.kind:
        clauses.append(Case.kind == q.kind)
    if q.channel:
        clauses.append(Case.channel == q.channel)
    if q.category:
        clauses.append(or_(Case.category == q.category, Case.category.startswith(q.category + "/", autoescape=True)))
    if "month" not in dims:
        columns = [CUSTOM_COLUMNS[d] for d in dims]
        return report_summary.grouped(session, start, end, columns, *clauses)
    found = report_summary.live(report_summary.case_events(session, report_summary.touching(start, end), *clauses),
                                reports.day_of(start), reports.day_of(end), dims)
    for keys, t in found.items():
        cell = tuple(k if d == "month" else reports.dimension_key(d, k) for d, k in zip(dims, keys, strict=True))
        out.setdefault(cell, rd.empty_totals()).merge(t)
    return out


def custom(platform: Platform, actor: Actor, period: reports.Period, q: CustomQuery) -> dict[str, Any]:
    """A pivot: one measure by the row dimension (× an optional column dimension), filtered, scoped."""
    reports.require_reader(actor)
    check(q)
    start, end = (datetime.combine(d, datetime.min.time()) for d in (period.start, period.end))
    with reports.reading(platform) as session:
        whose = reports.whose_of(session, actor, None)
        w = reports.weights(session)
        cells: dict[tuple[Any, Any], Any] = {}
        for key, t in cube(session, whose, q, start, end).items():
            counts, balance = reports.counts_of(t)
            values = {**counts.__dict__, **balance.as_dict(), **rates.rates(counts, w)}
            cells[(key[0], key[1] if len(key) > 1 else None)] = values[q.measure]
        row_keys = sorted({r for r, _ in cells}, key=lambda k: (k is None, str(k)))
        col_keys = sorted({c for _, c in cells}, key=lambda k: (k is None, str(k))) if q.columns else [None]
        row_words = _labels(session, q.rows, row_keys)
        col_words = _labels(session, q.columns, col_keys) if q.columns else {}
    return {"rows": [{"key": r, "label": reports.word_of(row_words, r), "cells": [cells.get((r, c)) for c in col_keys]}
                     for r in row_keys],
            "columns": [reports.word_of(col_words, c) if q.columns else CUSTOM_MEASURES[q.measure] for c in col_keys],
            "measure": q.measure, "measure_label": CUSTOM_MEASURES[q.measure],
            "is_rate": q.measure.endswith("_rate"), "period": period.label,
            "as_of": platform.clock.now().isoformat(timespec="minutes")}
