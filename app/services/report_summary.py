"""The report summary, never stale: `report_day` holds each day's sums per grain (app/domain/report_days.py);
every write to a case marks the days it touches stale in the same transaction (a flush listener, below);
the scheduler refolds stale days within a minute (`fold_stale`); and a report reads the summary for the
days that are fresh and the stale days live from the cases — through the same fold, so the figures are
those of the cases at the moment of reading, whether or not the scheduler has run.

Bulk loads that bypass the ORM call `rebuild` (bench/city.py) or `mark_all`; bulk UPDATEs of cases
(app/services/units.py merging units) call `mark_cases` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, exists, false, func, insert, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.domain import report_days as rd
from app.models import Case, ReportDay, ReportStaleMark
from app.services.platform import Platform
from app.services.report_marks import case_events, mark_all, mark_cases, mark_days

__all__ = ["case_events", "fold_stale", "mark_all", "mark_cases", "mark_days", "read", "rebuild"]

FOLD_BATCH = 1000  # rows per INSERT of a refolded day


def _ranges(days: Iterable[date]) -> list[tuple[datetime, datetime]]:
    """Consecutive days as [start, end) datetime ranges."""
    out: list[tuple[datetime, datetime]] = []
    for day in sorted(days):
        start = datetime.combine(day, datetime.min.time())
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], start + timedelta(days=1))
        else:
            out.append((start, start + timedelta(days=1)))
    return out


def events_on(days: Iterable[date]) -> ColumnElement[bool]:
    """Cases with an event on one of `days` (each event column's index walks its ranges)."""
    ranges = _ranges(days)
    if not ranges:
        return false()
    return or_(*(and_(getattr(Case, c) >= a, getattr(Case, c) < b) for c in rd.EVENT_COLUMNS for a, b in ranges))


def touching(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Cases that add to a period [start, end): an event in it, or open across its start (the carried-over
    stock) — each part an index range, not a scan of every case created before the end."""
    return or_(*(and_(getattr(Case, c) >= start, getattr(Case, c) < end) for c in rd.EVENT_COLUMNS),
               and_(Case.closed_at.is_(None), Case.created_at < start),
               and_(Case.closed_at >= end, Case.created_at < start))


# ---- folding stale days (the scheduler) ------------------------------------------------------------------

def fold_day(session: Session, day: date) -> int:
    """Recompute one day's summary from the cases; answers the rows written."""
    session.execute(delete(ReportDay).where(ReportDay.day == day))
    cells = rd.fold(case_events(session, events_on([day])), {day})
    rows = [{"grain": g, "day": d, "key": k, **sums} for (g, d, k), sums in cells.items()]
    for i in range(0, len(rows), FOLD_BATCH):
        session.execute(insert(ReportDay), rows[i:i + FOLD_BATCH])
    return len(rows)


def fold_stale(platform: Platform, limit: int = 100) -> int:
    """Refold up to `limit` stale days, the newest first, each in its own short transaction, removing the
    marks read before the fold: a mark committed meanwhile (invisible to that read) stays for the next run.
    Answers the days folded."""
    with platform.db.reading() as session:
        days = list(session.scalars(select(ReportStaleMark.day).group_by(ReportStaleMark.day)
                                    .order_by(ReportStaleMark.day.desc()).limit(limit)))
    folded = 0
    for day in days:
        with platform.db.unit_of_work() as session:
            try:
                seen = list(session.scalars(select(ReportStaleMark.id).where(ReportStaleMark.day == day)))
                fold_day(session, day)
                _unmark(session, seen)
                session.commit()
                folded += 1
            except DBAPIError:  # another scheduler folds the same day: it wins, we retry next minute
                session.rollback()
    return folded


def _unmark(session: Session, ids: Sequence[int]) -> None:
    for i in range(0, len(ids), FOLD_BATCH):
        session.execute(delete(ReportStaleMark).where(ReportStaleMark.id.in_(ids[i:i + FOLD_BATCH])))


def rebuild(platform: Platform) -> int:
    """The whole summary folded afresh in one pass over the cases (after a bulk load: bench/city.py), in one
    transaction and one snapshot; a day marked stale meanwhile stays stale. Answers the days written."""
    with platform.db.unit_of_work() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        seen = list(session.scalars(select(ReportStaleMark.id)))
        session.execute(delete(ReportDay))
        cells = rd.fold(case_events(session))
        rows = [{"grain": g, "day": d, "key": k, **sums} for (g, d, k), sums in cells.items()]
        for i in range(0, len(rows), FOLD_BATCH):
            session.execute(insert(ReportDay), rows[i:i + FOLD_BATCH])
        _unmark(session, seen)
        session.commit()
        return len({d for _, d, _ in cells})


# ---- reading: the summary for fresh days, the cases for stale ones ---------------------------------------

def stale_days(session: Session, before: date) -> set[date]:
    return set(session.scalars(select(ReportStaleMark.day).where(ReportStaleMark.day < before).distinct()))


def _month(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def read(session: Session, grain: str, start: date, end: date, keys: Iterable[str] | None = None,
         by_month: bool = False, carry: bool = True) -> dict[tuple[str, str | None], rd.Totals]:
    """(key, month or None) → the sums of the period [start, end) and the stock carried into it (the days
    before it are read only for that: not without `carry`, nor `by_month`)."""
    carry = carry and not by_month
    wanted = None if keys is None else set(keys)
    out: dict[tuple[str, str | None], rd.Totals] = {}
    fields = [getattr(ReportDay, name) for name in rd.FIELDS]
    fresh = ~exists().where(ReportStaleMark.day == ReportDay.day)
    where = [ReportDay.grain == grain, ReportDay.day < end, fresh]
    if not carry:
        where.append(ReportDay.day >= start)
    if wanted is not None:
        where.append(ReportDay.key.in_(sorted(wanted)))
    group: list[Any] = [ReportDay.key, *([_month(session, ReportDay.day)] if by_month else [])]
    in_period = ReportDay.day >= start
    carried = getattr(ReportDay, "new") - getattr(ReportDay, "finished")  # noqa: B009 — columns set in a loop
    query: Select[Any] = select(*group, *(func.sum(case((in_period, f), else_=0)) for f in fields),
                                func.sum(case((in_period, 0), else_=carried)))
    query = query.where(*where).group_by(*group)
    width = 2 if by_month else 1
    for row in session.execute(query):
        totals = out.setdefault((row[0], row[1] if by_month else None), rd.empty_totals())
        totals.add(dict(zip(rd.FIELDS, row[width:width + len(rd.FIELDS)], strict=True)), True)
        totals.carried_over += int(row[-1] or 0)
    stale = stale_days(session, end)
    if not carry:
        stale = {d for d in stale if d >= start}
    if stale:
        cells = rd.fold(case_events(session, events_on(stale)), stale, [grain])
        for (_, day, key), sums in cells.items():
            if wanted is not None and key not in wanted:
                continue
            if not carry and day < start:
                continue
            totals = out.setdefault((key, f"{day:%Y-%m}" if by_month else None), rd.empty_totals())
            totals.add(sums, day >= start)
    return out


def _sums(start: datetime, end: datetime) -> dict[str, ColumnElement[Any]]:
    """`report_days.contributions` as SQL sums over cases, for a period (and the stock carried into it)."""
    def on(column: Any) -> ColumnElement[bool]:
        return and_(column >= start, column < end)

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((and_(*conditions), 1), else_=0))

    def total(column: Any) -> ColumnElement[Any]:
        return func.sum(case((on(Case.closed_at), column), else_=0))

    accepted, replied, finished = on(Case.accepted_at), on(Case.replied_at), on(Case.closed_at)
    rated = and_(on(Case.followed_up_at), Case.satisfaction.is_not(None))
    led = Case.lead_unit_id.is_not(None)
    return {
        "new": count(on(Case.created_at)), "repeat": count(on(Case.created_at), Case.duplicate_of_id.is_not(None)),
        "accepted": count(accepted), "accepted_on_time": count(accepted, Case.accepted_on_time.is_(True)),
        "dispatched": count(accepted, led), "responded": count(accepted, led, Case.responded_at.is_not(None)),
        "replied": count(replied), "replied_on_time": count(replied, Case.replied_on_time.is_(True)),
        "rated": count(rated), "satisfied": count(rated, Case.satisfaction == "satisfied"),
        "basically_satisfied": count(rated, Case.satisfaction == "basically_satisfied"),
        "unsatisfied": count(rated, Case.satisfaction == "unsatisfied"),
        "resolved": count(rated, Case.resolved.is_(True)),
        "extensions": total(Case.extension_count), "returns": total(Case.return_count),
        "reopens": total(Case.reopen_count), "supervisions": total(Case.supervision_count),
        "closed": count(finished, Case.status.in_(rd.CLOSED_STATUSES)),
        "returned": count(finished, Case.status.in_(rd.RETURNED_STATUSES)),
        "terminated": count(finished, Case.status == rd.TERMINATED), "finished": count(finished),
        "carried": count(Case.created_at < start) - count(Case.closed_at < start),
    }


def grouped(session: Session, start: datetime, end: datetime, columns: Sequence[Any],
            *where: ColumnElement[bool]) -> dict[tuple[Any, ...], rd.Totals]:
    """The period's sums per tuple of `columns` values, aggregated by the database over the cases touching
    the period (a pivot without the month, with filters: no summary grain holds it). The twin of `live`,
    held to the summary by the tests."""
    sums = _sums(start, end)
    query = select(*columns, *sums.values()).where(touching(start, end), *where).group_by(*columns)
    out: dict[tuple[Any, ...], rd.Totals] = {}
    width = len(columns)
    for row in session.execute(query):
        values = dict(zip(sums, row[width:], strict=True))
        totals = rd.Totals({name: int(values[name] or 0) for name in rd.FIELDS}, int(values["carried"] or 0))
        out[tuple(row[:width])] = totals
    return out


def live(cases: Iterable[rd.CaseEvents], start: date, end: date, dims: Sequence[str]
         ) -> dict[tuple[str, ...], rd.Totals]:
    """The same sums straight from cases (those open during the period, already filtered and scoped), per
    tuple of dimension keys; "month" is the month of each event, and then nothing is carried over."""
    out: dict[tuple[str, ...], rd.Totals] = {}
    monthly = "month" in dims
    for c in cases:
        k = rd.keys(c)
        for day, name, amount in rd.contributions(c):
            if day >= end or (monthly and day < start):
                continue
            key = tuple(f"{day:%Y-%m}" if d == "month" else k[d] for d in dims)
            totals = out.setdefault(key, rd.empty_totals())
            totals.add({name: amount}, day >= start)
    return out
