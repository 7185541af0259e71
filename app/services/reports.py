"""Fixed reports per unit and period: the official rates, intake by kind/channel/category/area, the balance
check, per-unit ranking, lights per unit, the trend and the call-centre figures. Every query is scoped with
`scope.visible_cases(actor)`; the formulas are app/domain/rates.py.

What is counted is read from the case row's mirrored columns (app/services/process.py `_mirror_outcome`),
so a month is one pass over the cases open during it — no engine state is read. The report is live (the page
says "截至" the time it was computed): no summary table can go stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.domain import rates
from app.domain.hot_words import hot_words
from app.domain.roles import REPORT_ROLES
from app.domain.statuses import ARCHIVED, CLOSED, REDIRECTED, REJECTED, TERMINATED, TRANSFERRED
from app.errors import Invalid, NotFound, NotPermitted
from app.models import Case, HumanTask, TaskPause, Unit
from app.services import call_stats, dictionary, scope
from app.services.actors import Actor
from app.services.calls import at_centre
from app.services.platform import Platform
from app.services.settings import get_setting
from app.services.tasks import light_expr

READER_ROLES = REPORT_ROLES
PERIODS = {"day": "日报", "week": "周报", "month": "月报", "quarter": "季报", "year": "年报", "range": "自定义时段"}
CLOSED_STATUSES = (CLOSED, ARCHIVED)
RETURNED_STATUSES = (REJECTED, TRANSFERRED, REDIRECTED)
DIMENSIONS = {"kind": "诉求类型", "channel": "来源渠道", "category": "事项分类", "area": "所属区域"}


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # exclusive

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start:%Y-%m-%d} 至 {last:%Y-%m-%d}"


def period_of(kind: str, day: date, until: date | None = None) -> Period:
    """The day/week/month/quarter/year holding `day`, or `range` from `day` to `until` (inclusive)."""
    if kind == "day":
        return Period(kind, day, day + timedelta(days=1))
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=7))
    if kind == "month":
        start = day.replace(day=1)
        return Period(kind, start, (start + timedelta(days=32)).replace(day=1))
    if kind == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return Period(kind, start, (start + timedelta(days=95)).replace(day=1))
    if kind == "year":
        return Period(kind, date(day.year, 1, 1), date(day.year + 1, 1, 1))
    if kind == "range":
        if until is None or until < day or (until - day).days > 3660:
            raise Invalid("时段有误", {"until": "结束日期应不早于开始日期,且不超过十年"})
        return Period(kind, day, until + timedelta(days=1))
    raise Invalid("报表周期有误", {"period": "只能是 day、week、month、quarter、year 或 range"})


def parse_month(text: str) -> Period:
    try:
        year, month = (int(x) for x in text.split("-"))
        return period_of("month", date(year, month, 1))
    except (ValueError, TypeError):
        raise Invalid("月份格式有误", {"month": "月份应为 YYYY-MM"}) from None


def weights(session: Session) -> rates.Weights:
    w = get_setting(session, "reports.score_weights")
    return rates.Weights(basic_factor=float(get_setting(session, "reports.basic_satisfaction_factor")),
                         response=float(w["response"]), resolution=float(w["resolution"]),
                         satisfaction=float(w["satisfaction"]))


def require_reader(actor: Actor) -> None:
    if not actor.roles & READER_ROLES:
        raise NotPermitted("只有领导和派单员可以查看统计报表")


def _scope(session: Session, actor: Actor, unit_id: int | None) -> list[ColumnElement[bool]]:
    """The actor's cases, and with `unit_id` only those the unit (or a unit below it) leads or registered."""
    clauses = [scope.visible_cases(actor)]
    if unit_id is not None:
        path = session.scalar(select(Unit.path).where(Unit.id == unit_id))
        if path is None or not scope.unit_in_scope(session, actor, unit_id):
            raise NotFound("单位不存在或不在您的管辖范围内")
        below = select(Unit.id).where(Unit.path.startswith(path, autoescape=True))
        clauses.append(or_(Case.lead_unit_id.in_(below),
                           and_(Case.lead_unit_id.is_(None), Case.registering_unit_id.in_(below))))
    return clauses


def _sums(start: datetime, end: datetime) -> dict[str, ColumnElement[Any]]:
    """Each count of `rates.Counts` and `rates.Balance` as a SUM over the cases open during the period."""
    def during(column: Any) -> ColumnElement[bool]:
        return and_(column >= start, column < end)

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((and_(*conditions), 1), else_=0))

    def total(column: Any) -> ColumnElement[Any]:
        return func.sum(case((during(Case.closed_at), column), else_=0))

    accepted, replied = during(Case.accepted_at), during(Case.replied_at)
    rated = and_(during(Case.followed_up_at), Case.satisfaction.is_not(None))
    return {
        "new": count(during(Case.created_at)),
        "accepted": count(accepted),
        "accepted_on_time": count(accepted, Case.accepted_on_time.is_(True)),
        "dispatched": count(accepted, Case.lead_unit_id.is_not(None)),
        "responded": count(accepted, Case.lead_unit_id.is_not(None), Case.responded_at.is_not(None)),
        "replied": count(replied),
        "replied_on_time": count(replied, Case.replied_on_time.is_(True)),
        "repeat": count(during(Case.created_at), Case.duplicate_of_id.is_not(None)),
        "rated": count(rated),
        "satisfied": count(rated, Case.satisfaction == "satisfied"),
        "basically_satisfied": count(rated, Case.satisfaction == "basically_satisfied"),
        "unsatisfied": count(rated, Case.satisfaction == "unsatisfied"),
        "resolved": count(rated, Case.resolved.is_(True)),
        "extensions": total(Case.extension_count),
        "returns": total(Case.return_count),
        "reopens": total(Case.reopen_count),
        "supervisions": total(Case.supervision_count),
        "carried_over": count(Case.created_at < start),
        "closed": count(during(Case.closed_at), Case.status.in_(CLOSED_STATUSES)),
        "returned": count(during(Case.closed_at), Case.status.in_(RETURNED_STATUSES)),
        "terminated": count(during(Case.closed_at), Case.status == TERMINATED),
        "open_at_end": count(or_(Case.closed_at.is_(None), Case.closed_at >= end)),
    }


def _during_period(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Cases open at some time in [start, end): every event of the period belongs to one of them."""
    return and_(Case.created_at < end, or_(Case.closed_at.is_(None), Case.closed_at >= start))


def figures(session: Session, clauses: Sequence[ColumnElement[bool]], start: datetime, end: datetime,
            by: Any = None) -> list[tuple[Any, rates.Counts, rates.Balance]]:
    """Counts and balance in total (by=None), per value of `by` (e.g. Case.lead_unit_id), or per tuple of
    values when `by` is a list of columns (the custom reports' rows × columns)."""
    group = [] if by is None else list(by) if isinstance(by, list | tuple) else [by]
    sums = _sums(start, end)
    query = select(*group, *sums.values()).where(_during_period(start, end), *clauses)
    if group:
        query = query.group_by(*group)
    out = []
    for row in session.execute(query):
        values = dict(zip(sums, row[len(group):], strict=True))
        key = None if not group else row[0] if not isinstance(by, list | tuple) else tuple(row[:len(group)])
        balance = rates.Balance(**{k: int(values[k] or 0) for k in
                                   ("carried_over", "new", "closed", "returned", "terminated", "open_at_end")})
        out.append((key, rates.counts_from(values), balance))
    return out


def _pauses(session: Session, clauses: Sequence[ColumnElement[bool]], start: datetime, end: datetime) -> int:
    return session.scalar(select(func.count(TaskPause.id)).join(Case, Case.id == TaskPause.case_id).where(
        TaskPause.started_at >= start, TaskPause.started_at < end, *clauses)) or 0


def intake(session: Session, clauses: Sequence[ColumnElement[bool]], start: datetime, end: datetime
           ) -> dict[str, list[dict[str, Any]]]:
    """New cases of the period by kind, channel, category and area, largest first, with their words."""
    columns = {"kind": Case.kind, "channel": Case.channel, "category": Case.category, "area": Case.area_unit_id}
    words: dict[str, dict[Any, str]] = {"kind": dictionary.labels(session, "kind", active_only=False),
             "channel": dictionary.labels(session, "channel", active_only=False),
             "category": dictionary.labels(session, "category", active_only=False)}
    out: dict[str, list[dict[str, Any]]] = {}
    for name, column in columns.items():
        rows = session.execute(select(column, func.count()).where(
            Case.created_at >= start, Case.created_at < end, *clauses).group_by(column)).all()
        if name == "area":
            words["area"] = _unit_names(session, [int(k) for k, _ in rows if k is not None])
        out[name] = sorted(({"code": k, "label": _word(words[name], k), "count": n} for k, n in rows),
                           key=lambda r: (-r["count"], str(r["code"])))
    return out


def _word(words: dict[Any, str], code: Any) -> str:
    if code is None:
        return "未填"
    return words.get(code) or str(code)


def _unit_names(session: Session, ids: list[int]) -> dict[Any, str]:
    return dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}


def ranking(session: Session, clauses: Sequence[ColumnElement[bool]], start: datetime, end: datetime,
            w: rates.Weights) -> list[dict[str, Any]]:
    """Rates per lead unit, the best score first (units without a score last)."""
    rows = figures(session, clauses, start, end, by=Case.lead_unit_id)
    names = _unit_names(session, [k for k, _, _ in rows if k is not None])
    ranked = [{"unit_id": k, "unit": names.get(k, "未交办"), "received": c.new, "rates": rates.rates(c, w)}
              for k, c, _ in rows if k is not None]
    ranked.sort(key=lambda r: (r["rates"]["score"] is None, -(r["rates"]["score"] or 0), r["unit"]))
    return ranked


def lights(session: Session, actor: Actor, clauses: Sequence[ColumnElement[bool]], now: datetime
           ) -> list[dict[str, Any]]:
    """Ready tasks now per unit and light (green, yellow, red, paused)."""
    light = light_expr(now)
    rows = session.execute(select(HumanTask.unit_id, light, func.count()).join(Case, Case.id == HumanTask.case_id)
                           .where(HumanTask.state == "ready", *clauses).group_by(HumanTask.unit_id, light)).all()
    names = _unit_names(session, sorted({u for u, _, _ in rows if u is not None}))
    per: dict[Any, dict[str, Any]] = {}
    for unit, colour, n in rows:
        entry = per.setdefault(unit, {"unit": names.get(unit, "—"), "green": 0, "yellow": 0, "red": 0, "paused": 0})
        entry[colour] = n
    return sorted(per.values(), key=lambda r: -(r["green"] + r["yellow"] + r["red"] + r["paused"]))


def trend(session: Session, clauses: Sequence[ColumnElement[bool]], year: int) -> dict[str, list[int]]:
    """New cases per month of `year` and of the year before."""
    start, end = datetime(year - 1, 1, 1), datetime(year + 1, 1, 1)
    if session.get_bind().dialect.name == "postgresql":
        month: Any = func.to_char(Case.created_at, "YYYY-MM")
    else:
        month = func.strftime("%Y-%m", Case.created_at)
    counts: dict[str, int] = dict(session.execute(select(month, func.count()).where(
        Case.created_at >= start, Case.created_at < end, *clauses).group_by(month)).all())
    return {str(y): [int(counts.get(f"{y}-{m:02d}", 0)) for m in range(1, 13)] for y in (year - 1, year)}


HOT_WORD_SAMPLE = 1000  # the newest cases of the period read for hot words (jieba: ~0.5 ms a text)


def period_words(session: Session, clauses: Sequence[ColumnElement[bool]], start: datetime, end: datetime
                 ) -> list[tuple[str, int]]:
    rows = session.execute(select(Case.subject, Case.content).where(
        Case.created_at >= start, Case.created_at < end, *clauses).order_by(Case.created_at.desc())
        .limit(HOT_WORD_SAMPLE)).all()
    return hot_words(f"{subject} {content[:120]}" for subject, content in rows)


def calls(session: Session, platform: Platform, actor: Actor, period: Period) -> dict[str, Any] | None:
    """The call centre's figures for the period, for the centre's own readers (else None)."""
    if not actor.roles & call_stats.READER_ROLES or not at_centre(session, actor):
        return None
    last = period.end - timedelta(days=1)
    return call_stats.call_stats(platform, actor, "day", call_stats.CallFilter(
        date_from=period.start, date_to=last, per_page=1))["total"]


def report(platform: Platform, actor: Actor, period: Period, unit_id: int | None = None,
           full: bool = True) -> dict[str, Any]:
    """One fixed report; `full` adds the breakdowns, ranking, lights and trend the page and PDF show."""
    require_reader(actor)
    start, end = datetime.combine(period.start, datetime.min.time()), datetime.combine(period.end,
                                                                                      datetime.min.time())
    now = platform.clock.now()
    with platform.db.reading() as session:
        clauses = _scope(session, actor, unit_id)
        w = weights(session)
        found = figures(session, clauses, start, end)
        counts, balance = (found[0][1], found[0][2]) if found else (rates.Counts(), rates.Balance(0, 0, 0, 0, 0, 0))
        counts = rates.Counts(**{**counts.__dict__, "pauses": _pauses(session, clauses, start, end)})
        out: dict[str, Any] = {
            "period": {"kind": period.kind, "start": period.start.isoformat(), "end": period.end.isoformat(),
                       "label": period.label},
            "unit": None if unit_id is None else {"id": unit_id, "name": session.scalar(
                select(Unit.name).where(Unit.id == unit_id))},
            "rates": rates.rates(counts, w),
            "counts": counts.__dict__,
            "balance": balance.as_dict(),
            "definitions": rates.definitions(w),
            "as_of": now.isoformat(timespec="minutes"),
        }
        if full:
            out["intake"] = intake(session, clauses, start, end)
            out["ranking"] = ranking(session, clauses, start, end, w)
            out["lights"] = lights(session, actor, clauses, now)
            out["trend"] = trend(session, clauses, period.start.year)
            out["calls"] = calls(session, platform, actor, period)
            out["hot_words"] = period_words(session, clauses, start, end)
    return out


def unit_choices(platform: Platform, actor: Actor) -> list[tuple[int, str]]:
    """The units a reader may pick (theirs and those below), in tree order."""
    require_reader(actor)
    with platform.db.reading() as session:
        ids = scope.units_in_scope(session, actor)
        return [(i, n) for i, n in session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))
                                                   .order_by(Unit.path))]


# ---- custom reports: dimensions × measures × filters over the same engine -------------------------------

CUSTOM_DIMENSIONS = {"unit": "承办单位", "kind": "诉求类型", "channel": "来源渠道", "category": "事项分类",
                     "area": "所属区域", "month": "登记月份"}
CUSTOM_MEASURES = {"new": "新登记件数", "accepted": "受理件数", "replied": "答复件数", "rated": "有效回访件数",
                   "open_at_end": "期末在办", **{code: name for code, (name, _) in rates.DEFINITIONS.items()}}


def _dimension(session: Session, name: str) -> Any:
    if name == "month":
        if session.get_bind().dialect.name == "postgresql":
            return func.to_char(Case.created_at, "YYYY-MM")
        return func.strftime("%Y-%m", Case.created_at)
    return {"unit": Case.lead_unit_id, "kind": Case.kind, "channel": Case.channel, "category": Case.category,
            "area": Case.area_unit_id}[name]


def _labels(session: Session, name: str, keys: list[Any]) -> dict[Any, str]:
    if name in ("unit", "area"):
        return _unit_names(session, [int(k) for k in keys if k is not None])
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


def custom(platform: Platform, actor: Actor, period: Period, q: CustomQuery) -> dict[str, Any]:
    """A pivot: one measure by the row dimension (× an optional column dimension), filtered, scoped."""
    require_reader(actor)
    errors = {}
    if q.rows not in CUSTOM_DIMENSIONS:
        errors["rows"] = "请选择行维度"
    if q.columns is not None and (q.columns not in CUSTOM_DIMENSIONS or q.columns == q.rows):
        errors["columns"] = "列维度应为另一维度(或不选)"
    if q.measure not in CUSTOM_MEASURES:
        errors["measure"] = "请选择统计指标"
    if errors:
        raise Invalid("自定义报表条件有误", errors)
    start, end = (datetime.combine(d, datetime.min.time()) for d in (period.start, period.end))
    with platform.db.reading() as session:
        clauses = _scope(session, actor, None)
        if q.kind:
            clauses.append(Case.kind == q.kind)
        if q.channel:
            clauses.append(Case.channel == q.channel)
        if q.category:
            clauses.append(or_(Case.category == q.category, Case.category.startswith(q.category + "/",
                                                                                     autoescape=True)))
        dims = [q.rows, *([q.columns] if q.columns else [])]
        w = weights(session)
        found = figures(session, clauses, start, end, by=[_dimension(session, d) for d in dims])
        cells: dict[tuple[Any, Any], Any] = {}
        for key, counts, balance in found:
            values = {**counts.__dict__, **balance.as_dict(), **rates.rates(counts, w)}
            cells[(key[0], key[1] if len(key) > 1 else None)] = values[q.measure]
        row_keys = sorted({r for r, _ in cells}, key=lambda k: (k is None, str(k)))
        col_keys = sorted({c for _, c in cells}, key=lambda k: (k is None, str(k))) if q.columns else [None]
        row_words = _labels(session, q.rows, row_keys)
        col_words = _labels(session, q.columns, col_keys) if q.columns else {}
    return {"rows": [{"key": r, "label": _word(row_words, r), "cells": [cells.get((r, c)) for c in col_keys]}
                     for r in row_keys],
            "columns": [_word(col_words, c) if q.columns else CUSTOM_MEASURES[q.measure] for c in col_keys],
            "measure": q.measure, "measure_label": CUSTOM_MEASURES[q.measure],
            "is_rate": q.measure.endswith("_rate"), "period": period.label,
            "as_of": platform.clock.now().isoformat(timespec="minutes")}


# ---- the annual report draft (信访工作条例 art. 41) ---------------------------------------------------------

def annual(platform: Platform, actor: Actor, year: int) -> dict[str, Any]:
    """The year's figures for the 年度工作报告 draft: the fixed report of the year, the units complained
    about most, and the suggestions received (their adoption is the office's to write in)."""
    if not 2000 <= year <= 2200:
        raise Invalid("年份有误", {"year": "年份应为 2000 到 2200"})
    period = period_of("year", date(year, 1, 1))
    found = report(platform, actor, period)
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    with platform.db.reading() as session:
        clauses = _scope(session, actor, None)
        complained = session.execute(select(Case.lead_unit_id, func.count()).where(
            Case.created_at >= start, Case.created_at < end, Case.kind == "complaint", Case.lead_unit_id.is_not(None),
            *clauses).group_by(Case.lead_unit_id).order_by(func.count().desc()).limit(10)).all()
        names = _unit_names(session, [int(u) for u, _ in complained if u is not None])
        suggestions = session.scalar(select(func.count()).select_from(Case).where(
            Case.created_at >= start, Case.created_at < end, Case.kind == "suggestion", *clauses)) or 0
    found["year"] = year
    found["complained_units"] = [{"unit": names.get(u, "—"), "count": n} for u, n in complained]
    found["suggestions"] = suggestions
    return found


def report_sheets(found: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """A full report (fixed or annual) as spreadsheet tables for tabular.workbook: figures, rates,
    breakdowns, the units complained about (annual), the ranking."""
    c, b = found["counts"], found["balance"]
    figures_rows = [["本期新登记", c["new"]], ["受理(转送/交办)", c["accepted"]], ["答复", c["replied"]],
                    ["有效回访", c["rated"]], ["督办", c["supervisions"]], ["延期", c["extensions"]],
                    ["退回", c["returns"]], ["重办", c["reopens"]], ["暂停", c["pauses"]],
                    ["重复件", c["repeat"]], *([["建议件", found["suggestions"]]] if "suggestions" in found else []),
                    ["上期结转", b["carried_over"]], ["本期办结", b["closed"]], ["退回(不予受理/转办)", b["returned"]],
                    ["终结", b["terminated"]], ["期末在办", b["open_at_end"]],
                    ["平衡校验", "通过" if b["ok"] else "未通过"]]
    rate_rows = [[d["name"], found["rates"][d["code"]], d["definition"]] for d in found["definitions"]]
    sheets: list[tuple[str, list[str], list[list[Any]]]] = [
        ("数据统计", ["项目", "数值"], figures_rows), ("主要指标", ["指标", "数值", "定义"], rate_rows)]
    for dim, title in DIMENSIONS.items():
        sheets.append((f"按{title}", [title, "件数"], [[r["label"], r["count"]] for r in found["intake"][dim]]))
    if "complained_units" in found:
        units = [[u["unit"], u["count"]] for u in found["complained_units"]]
        sheets.append(("被投诉较多的单位", ["单位", "投诉件数"], units))
    sheets.append(("承办单位排名", ["单位", "响应率", "解决率", "满意率", "综合得分"],
                   [[u["unit"], u["rates"]["response_rate"], u["rates"]["resolution_rate"],
                     u["rates"]["satisfaction_rate"], u["rates"]["score"]] for u in found["ranking"]]))
    return sheets
