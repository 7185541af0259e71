"""Fixed reports per unit and period: the official rates, intake by kind/channel/category/area, the balance
check, per-unit ranking, lights per unit, the trend and the call-centre figures. The formulas are
app/domain/rates.py; what a case adds to which day is app/domain/report_days.py.

The sums come from the report summary (app/services/report_summary.py: per-day sums per grain, refolded by
the scheduler, the days a write made stale read live from the cases), so a month is a few hundred summary
rows whatever the city's size, and never stale: the page says "截至" the minute it was read. Reads go through
`Database.reporting()` (the replica when REPORTS_DATABASE_URL names one), in one snapshot.

Whose cases: a reader whose scope is the whole city reads the city (or any unit); any other reader reads the
cases their unit or a unit below it leads (or registered, while no lead unit is given) — each case counted
once, for the unit that answers for it, never a case of another unit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from app.domain import rates
from app.domain import report_days as rd
from app.domain.hot_words import hot_words
from app.domain.roles import REPORT_ROLES
from app.errors import Invalid, NotFound, NotPermitted
from app.models import Case, HumanTask, KnowledgeEntry, KnowledgeUse, TaskPause, Unit
from app.services import call_stats, dictionary, report_summary, scope
from app.services.actors import Actor
from app.services.calls import at_centre
from app.services.platform import Platform
from app.services.settings import get_setting
from app.services.tasks import light_where

READER_ROLES = REPORT_ROLES
PERIODS = {"day": "日报", "week": "周报", "month": "月报", "quarter": "季报", "year": "年报", "range": "自定义时段"}
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


@contextmanager
def reading(platform: Platform) -> Iterator[Session]:
    """A report's session: on the reports replica when configured, one snapshot for all its reads (the
    summary and the stale days' cases must not straddle a refold)."""
    with platform.db.reporting() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


@dataclass(frozen=True)
class Whose:
    """Whose cases a report counts: `keys` of the summary's unit grain (None: the whole city), and the same
    as WHERE clauses on Case for what is read live."""

    keys: frozenset[str] | None
    clauses: list[ColumnElement[bool]]
    unit_ids: frozenset[int] | None = None


def _city(session: Session, actor: Actor) -> bool:
    return len(scope.units_in_scope(session, actor)) == session.scalar(select(func.count()).select_from(Unit))


def whose_of(session: Session, actor: Actor, unit_id: int | None) -> Whose:
    """The city (a city-wide reader without `unit_id`), else the cases `unit_id` (default: the reader's
    unit) or a unit below it leads, or registered while no lead unit is given."""
    if unit_id is None and _city(session, actor):
        return Whose(None, [scope.visible_cases_for(session, actor)])
    if unit_id is None:
        unit_id = actor.unit_id
        if unit_id is None:
            raise NotPermitted("没有所属单位的用户不能查看统计报表")
    path = session.scalar(select(Unit.path).where(Unit.id == unit_id))
    if path is None or not scope.unit_in_scope(session, actor, unit_id):
        raise NotFound("单位不存在或不在您的管辖范围内")
    ids = list(session.scalars(select(Unit.id).where(Unit.path.startswith(path, autoescape=True))))
    clauses = [scope.visible_cases_for(session, actor),
               or_(Case.lead_unit_id.in_(ids), and_(Case.lead_unit_id.is_(None), Case.registering_unit_id.in_(ids)))]
    return Whose(frozenset(rd.unit_key(i, None) for i in ids) | frozenset(rd.unit_key(None, i) for i in ids),
                 clauses, frozenset(ids))


def day_of(moment: datetime) -> date:
    return moment.date()


def summed(session: Session, whose: Whose, start: datetime, end: datetime) -> rd.Totals:
    """The period's sums and carried-over stock for whose cases."""
    grain = "all" if whose.keys is None else "unit"
    total = rd.empty_totals()
    for found in report_summary.read(session, grain, day_of(start), day_of(end), whose.keys).values():
        total.merge(found)
    return total


def counts_of(total: rd.Totals) -> tuple[rates.Counts, rates.Balance]:
    return rates.counts_from(total.sums), rates.Balance(**total.balance)


def _pauses(session: Session, clauses: Sequence[ColumnElement[bool]], start: datetime, end: datetime) -> int:
    return session.scalar(select(func.count(TaskPause.id)).join(Case, Case.id == TaskPause.case_id).where(
        TaskPause.started_at >= start, TaskPause.started_at < end, *clauses)) or 0


def knowledge_hits(session: Session, whose: Whose, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """知识库命中 per owning unit, most first: cases answered at intake with an entry (用此答复) in the period,
    counted for the unit whose entry it was (such a case has no lead unit: the centre registered it); a unit's
    reader sees the units at and below it, the city every owner."""
    query = (select(KnowledgeEntry.unit_id, func.count()).select_from(KnowledgeUse)
             .join(KnowledgeEntry, KnowledgeEntry.id == KnowledgeUse.entry_id)
             .where(KnowledgeUse.used_at >= start, KnowledgeUse.used_at < end).group_by(KnowledgeEntry.unit_id))
    if whose.unit_ids is not None:
        query = query.where(KnowledgeEntry.unit_id.in_(sorted(whose.unit_ids)))
    rows = session.execute(query).all()
    names = unit_names(session, [u for u, _ in rows])
    return sorted(({"unit_id": u, "unit": names.get(u, "—"), "count": n} for u, n in rows),
                  key=lambda r: (-r["count"], r["unit"]))


def _dimension_words(session: Session) -> dict[str, dict[Any, str]]:
    return {"kind": dictionary.labels(session, "kind", active_only=False),
            "channel": dictionary.labels(session, "channel", active_only=False),
            "category": dictionary.labels(session, "category", active_only=False)}


def intake(session: Session, whose: Whose, start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
    """New cases of the period by kind, channel, category and area, largest first, with their words: from
    the summary's grains for the city, from the unit's new cases of the period otherwise."""
    words = _dimension_words(session)
    counted: dict[str, list[tuple[Any, int]]] = {}
    if whose.keys is None:
        for name in DIMENSIONS:
            found = report_summary.read(session, name, day_of(start), day_of(end), carry=False)
            counted[name] = [(dimension_key(name, k), t.sums["new"]) for (k, _), t in found.items() if t.sums["new"]]
    else:
        columns = {"kind": Case.kind, "channel": Case.channel, "category": Case.category, "area": Case.area_unit_id}
        for name, column in columns.items():
            counted[name] = [(k, n) for k, n in session.execute(select(column, func.count()).where(
                Case.created_at >= start, Case.created_at < end, *whose.clauses).group_by(column))]
    words["area"] = unit_names(session, [int(k) for k, _ in counted["area"] if k is not None])
    return {name: sorted(({"code": k, "label": word_of(words[name], k), "count": n} for k, n in rows),
                         key=lambda r: (-r["count"], str(r["code"])))
            for name, rows in counted.items()}


def dimension_key(dimension: str, key: str) -> Any:
    """A summary key as the dimension's value: a unit or area id, a code, a month (None: not given)."""
    if dimension == "unit":
        return int(key[1:]) if key.startswith("u") else None
    if dimension == "area":
        return int(key) if key else None
    return key or None


def word_of(words: dict[Any, str], code: Any) -> str:
    if code is None:
        return "未填"
    return words.get(code) or str(code)


def unit_names(session: Session, ids: list[int]) -> dict[Any, str]:
    return dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}


def ranking(session: Session, whose: Whose, start: datetime, end: datetime, w: rates.Weights
            ) -> list[dict[str, Any]]:
    """Rates per lead unit, the best score first (units without a score last)."""
    found = report_summary.read(session, "unit", day_of(start), day_of(end), whose.keys, carry=False)
    per = {dimension_key("unit", k): t for (k, _), t in found.items() if k.startswith("u")}
    names = unit_names(session, [int(k) for k in per if k is not None])
    ranked = [{"unit_id": k, "unit": names.get(k, "未交办"), "received": t.sums["new"],
               "rates": rates.rates(rates.counts_from(t.sums), w)} for k, t in per.items()]
    ranked.sort(key=lambda r: (r["rates"]["score"] is None, -(r["rates"]["score"] or 0), r["unit"]))
    return ranked


def lights(session: Session, whose: Whose, now: datetime) -> list[dict[str, Any]]:
    """Ready tasks now per unit and light (green, yellow, red, paused): every unit's for the city, else those
    at the unit and the units below it. One aggregate over the ready-task index (index-only: the light tests
    are FILTERs on its INCLUDE columns, as the worklist tally's), no case read."""
    where = [HumanTask.state == "ready"]
    if whose.unit_ids is not None:
        where.append(HumanTask.unit_id.in_(sorted(whose.unit_ids)))
    rows = session.execute(select(HumanTask.unit_id, func.count(), func.count().filter(light_where(now, "paused")),
                                  func.count().filter(light_where(now, "red")),
                                  func.count().filter(light_where(now, "yellow")))
                           .where(*where).group_by(HumanTask.unit_id)).all()
    names = unit_names(session, sorted({u for u, *_ in rows if u is not None}))
    per = [{"unit": names.get(unit, "—"), "green": total - paused - red - yellow, "yellow": yellow, "red": red,
            "paused": paused} for unit, total, paused, red, yellow in rows]
    return sorted(per, key=lambda r: -(r["green"] + r["yellow"] + r["red"] + r["paused"]))


def trend(session: Session, whose: Whose, year: int) -> dict[str, list[int]]:
    """New cases per month of `year` and of the year before."""
    found = report_summary.read(session, "all" if whose.keys is None else "unit", date(year - 1, 1, 1),
                                date(year + 1, 1, 1), whose.keys, by_month=True)
    counts: dict[str, int] = {}
    for (_, month), t in found.items():
        counts[str(month)] = counts.get(str(month), 0) + t.sums["new"]
    return {str(y): [int(counts.get(f"{y}-{m:02d}", 0)) for m in range(1, 13)] for y in (year - 1, year)}


HOT_WORD_SAMPLE = 1000  # the newest cases of the period read for hot words (jieba: ~0.5 ms a text)


_WORDS: OrderedDict[int, list[tuple[str, int]]] = OrderedDict()  # the words of a sample, by the sample's texts
_WORDS_KEPT = 64
_WORDS_LOCK = threading.Lock()


def period_words(session: Session, clauses: Sequence[ColumnElement[bool]], start: datetime, end: datetime
                 ) -> list[tuple[str, int]]:
    """Hot words of the period's newest cases. The texts are read each time; segmenting them (the page's
    dearest part) is remembered by their hash, so a page read again segments only when the sample changed."""
    rows = session.execute(select(Case.subject, Case.content).where(
        Case.created_at >= start, Case.created_at < end, *clauses).order_by(Case.created_at.desc())
        .limit(HOT_WORD_SAMPLE)).all()
    texts = [f"{subject} {content[:120]}" for subject, content in rows]
    key = hash(tuple(texts))
    with _WORDS_LOCK:
        if key in _WORDS:
            _WORDS.move_to_end(key)
            return _WORDS[key]
    found = hot_words(texts)
    with _WORDS_LOCK:
        _WORDS[key] = found
        while len(_WORDS) > _WORDS_KEPT:
            _WORDS.popitem(last=False)
    return found


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
    with reading(platform) as session:
        whose = whose_of(session, actor, unit_id)
        w = weights(session)
        counts, balance = counts_of(summed(session, whose, start, end))
        hits = knowledge_hits(session, whose, start, end)
        counts = rates.Counts(**{**counts.__dict__, "pauses": _pauses(session, whose.clauses, start, end),
                                 "knowledge_hits": sum(h["count"] for h in hits)})
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
            out["intake"] = intake(session, whose, start, end)
            out["ranking"] = ranking(session, whose, start, end, w)
            out["lights"] = lights(session, whose, now)
            out["trend"] = trend(session, whose, period.start.year)
            out["calls"] = calls(session, platform, actor, period)
            out["hot_words"] = period_words(session, whose.clauses, start, end)
            out["knowledge_units"] = hits
    return out


def unit_choices(platform: Platform, actor: Actor) -> list[tuple[int, str]]:
    """The units a reader may pick (theirs and those below), in tree order."""
    require_reader(actor)
    with platform.db.reading() as session:
        ids = scope.units_in_scope(session, actor)
        return [(i, n) for i, n in session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))
                                                   .order_by(Unit.path))]


# ---- the annual report draft (信访工作条例 art. 41) ---------------------------------------------------------

def annual(platform: Platform, actor: Actor, year: int) -> dict[str, Any]:
    """The year's figures for the 年度工作报告 draft: the fixed report of the year, the units complained
    about most, and the suggestions received (their adoption is the office's to write in)."""
    if not 2000 <= year <= 2200:
        raise Invalid("年份有误", {"year": "年份应为 2000 到 2200"})
    period = period_of("year", date(year, 1, 1))
    found = report(platform, actor, period)
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    with reading(platform) as session:
        clauses = whose_of(session, actor, None).clauses
        complained = session.execute(select(Case.lead_unit_id, func.count()).where(
            Case.created_at >= start, Case.created_at < end, Case.kind == "complaint", Case.lead_unit_id.is_not(None),
            *clauses).group_by(Case.lead_unit_id).order_by(func.count().desc()).limit(10)).all()
        names = unit_names(session, [int(u) for u, _ in complained if u is not None])
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
                    ["重复件", c["repeat"]], ["知识库命中(用此答复)", c["knowledge_hits"]],
                    *([["建议件", found["suggestions"]]] if "suggestions" in found else []),
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
    if "knowledge_units" in found:
        sheets.append(("知识库命中", ["条目所属单位", "命中件数"],
                       [[u["unit"], u["count"]] for u in found["knowledge_units"]]))
    sheets.append(("承办单位排名", ["单位", "响应率", "解决率", "满意率", "综合得分"],
                   [[u["unit"], u["rates"]["response_rate"], u["rates"]["resolution_rate"],
                     u["rates"]["satisfaction_rate"], u["rates"]["score"]] for u in found["ranking"]]))
    return sheets
