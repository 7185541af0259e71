"""Marking report summary days stale, in the writing transaction (app/services/report_summary.py reads and
refolds them). A flush listener on every Session: a write to a case marks the days of its events, old and
new, whatever service made it. Imported by app/services/platform.py, so it is on wherever a platform is."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from app.domain import report_days as rd
from app.models import Case, ReportStaleMark

BATCH = 1000  # rows per INSERT


def _case_columns() -> list[Any]:
    return [getattr(Case, name) for name in rd.COLUMNS]


def events_of(rows: Iterable[Sequence[Any]]) -> Iterator[rd.CaseEvents]:
    for row in rows:
        yield rd.CaseEvents(*row)


def case_events(session: Session, *where: ColumnElement[bool]) -> Iterator[rd.CaseEvents]:
    """The summary's columns of the cases matching `where`, streamed."""
    result = session.execute(select(*_case_columns()).where(*where).execution_options(yield_per=5000))
    return events_of(result)


def mark_days(session: Session, days: Iterable[date]) -> None:
    """Mark `days` stale: rows appended on the session's connection, so they commit or roll back with the
    write that caused them, and no writer waits for another's mark."""
    rows = [{"day": d} for d in sorted(set(days))]
    for i in range(0, len(rows), BATCH):
        session.connection().execute(insert(ReportStaleMark), rows[i:i + BATCH])


def mark_cases(session: Session, *where: ColumnElement[bool]) -> None:
    """Mark stale every day an event of the matching cases falls on (before a bulk UPDATE of them)."""
    days: set[date] = set()
    for c in case_events(session, *where):
        days |= rd.event_days(c)
    mark_days(session, days)


def mark_all(session: Session) -> None:
    """Every day of every case stale (after a bulk load): the scheduler refolds them all."""
    days: set[date] = set()
    for column in rd.EVENT_COLUMNS:
        col = getattr(Case, column)
        lowest, highest = session.execute(select(func.min(col), func.max(col))).one()
        if lowest is not None:
            days |= {lowest.date() + timedelta(days=i) for i in range((highest.date() - lowest.date()).days + 1)}
    mark_days(session, days)


def _touched_days(session: Session) -> set[date]:
    days: set[date] = set()
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, Case) and obj.created_at is not None:
            days |= {v.date() for v in (getattr(obj, c) for c in rd.EVENT_COLUMNS) if v is not None}
    for obj in session.dirty:
        if not isinstance(obj, Case):
            continue
        state = inspect(obj)
        changed = False
        for name in rd.COLUMNS:
            history = state.attrs[name].history
            if history.has_changes():
                changed = True
                if name in rd.EVENT_COLUMNS:
                    days |= {v.date() for v in history.deleted if v is not None}
        if changed:
            days |= {v.date() for v in (getattr(obj, c) for c in rd.EVENT_COLUMNS) if v is not None}
    return days


@event.listens_for(Session, "after_flush")
def _mark_flushed(session: Session, _context: Any) -> None:
    """Every flush that adds, changes (a summed column) or deletes a case marks its days, old and new."""
    days = _touched_days(session)
    if days:
        mark_days(session, days)
