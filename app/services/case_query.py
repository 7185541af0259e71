"""The combined query (内部查询) as SQL: the parsed conditions of app.domain.case_query over the cases the actor
may see (scope.visible_cases), sorted by any shown column and paged by keyset, so page 500 costs what page 1 does.

Text goes through the case text index (PostgreSQL pg_trgm GIN with ILIKE; SQLite the FTS5 trigram table for
three characters or more), `%`/`_` matched literally. Phone and ID number match the keyed hashes only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal_column, or_, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from app.domain.case_query import CaseQuery, day_range, encode_cursor, fts_phrase, like_pattern
from app.domain.identity import InvalidPhone, normalise_id_number, normalise_phone
from app.domain.masking import mask_name
from app.errors import Invalid
from app.models import Case, HumanTask, Requester, Unit, case_assisting_unit
from app.models.queries import CASE_FTS_TABLE
from app.services import dictionary, scope
from app.services.actors import Actor, require
from app.services.platform import Platform
from app.services.tasks import light_expr

SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "number": Case.number, "created_at": Case.created_at, "kind": Case.kind, "channel": Case.channel,
    "category": Case.category, "subject": Case.subject, "status": Case.status, "lead_unit": Case.lead_unit_id,
    "due_at": Case.due_at, "replied_at": Case.replied_at, "closed_at": Case.closed_at,
    "satisfaction": Case.satisfaction,
}
LeadUnit = aliased(Unit)


def _subtree(unit_id: int) -> Select[int]:
    """The unit and every unit below it (by materialized path)."""
    path = select(Unit.path).where(Unit.id == unit_id).scalar_subquery()
    return select(Unit.id).where(or_(Unit.id == unit_id, Unit.path.startswith(path)))


def _handled_by(user_id: int, assisting: bool) -> ColumnElement[bool]:
    """A step of the lead unit (or of an assisting unit) was done by, or is assigned to, the user."""
    task = aliased(HumanTask)
    unit = (task.unit_id.in_(select(case_assisting_unit.c.unit_id).where(case_assisting_unit.c.case_id == Case.id))
            if assisting else task.unit_id == Case.lead_unit_id)
    return exists().where(task.case_id == Case.id, unit,
                          or_(task.completed_by_id == user_id, task.assignee_id == user_id))


def _text(session: Session, needle: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "sqlite" and len(needle) >= 3:
        fts: ColumnElement[Any] = literal_column(CASE_FTS_TABLE)
        return Case.id.in_(select(literal_column("rowid")).select_from(text(CASE_FTS_TABLE))
                           .where(fts.op("MATCH")(fts_phrase(needle))))
    pattern = like_pattern(needle)
    return or_(Case.subject.ilike(pattern, escape="\\"), Case.content.ilike(pattern, escape="\\"))


def _requester_hash(platform: Platform, key: str, raw: str) -> ColumnElement[bool]:
    """Requesters whose keyed hash equals that of the normalised value (never a scan of decrypted data)."""
    try:
        value = normalise_phone(raw) if key == "phone" else normalise_id_number(raw)
    except (InvalidPhone, ValueError):
        words = "电话号码" if key == "phone" else "证件号"
        raise Invalid(f"查询条件「诉求人{words}」({key})格式不正确", {key: f"{words}格式不正确"}) from None
    column = Requester.phone_hash if key == "phone" else Requester.id_number_hash
    digest = platform.cipher.search_hash(value, f"requester.{key}")
    return Case.requester_id.in_(select(Requester.id).where(column == digest))


def conditions(session: Session, platform: Platform, query: CaseQuery) -> list[ColumnElement[bool]]:
    """WHERE clauses on Case for the query's filters (scope not included)."""
    f = query.filters
    return [*_codes(f), *_units(f), *_states(f, platform.clock.now()), *_texts(session, platform, f)]


def _codes(f: dict[str, Any]) -> Iterator[ColumnElement[bool]]:
    start, end = day_range(f.get("created_from"), f.get("created_to"))
    if start:
        yield Case.created_at >= start
    if end:
        yield Case.created_at < end
    for key, column in (("kind", Case.kind), ("channel", Case.channel), ("status", Case.status),
                        ("dispatch_mode", Case.dispatch_mode)):
        if key in f:
            yield column.in_(list(f[key]))
    if "number" in f:
        yield Case.number == f["number"]
    if "category" in f:
        code = str(f["category"])
        yield or_(Case.category == code, Case.category.like(like_pattern(code)[1:-1] + "/%", escape="\\"))
    if "satisfaction" in f:
        codes = list(f["satisfaction"])
        yield or_(Case.satisfaction.in_([c for c in codes if c != "none"]),
                  Case.satisfaction.is_(None) if "none" in codes else false())


def _units(f: dict[str, Any]) -> Iterator[ColumnElement[bool]]:
    if "lead_unit" in f:
        yield Case.lead_unit_id.in_(_subtree(f["lead_unit"]))
    if "assisting_unit" in f:
        yield exists().where(case_assisting_unit.c.case_id == Case.id,
                             case_assisting_unit.c.unit_id.in_(_subtree(f["assisting_unit"])))
    if "area" in f:
        yield Case.area_unit_id.in_(_subtree(f["area"]))
    if "lead_user" in f:
        yield _handled_by(f["lead_user"], assisting=False)
    if "assisting_user" in f:
        yield _handled_by(f["assisting_user"], assisting=True)


def _states(f: dict[str, Any], now: datetime) -> Iterator[ColumnElement[bool]]:
    if "reply" in f:
        replies = {"replied": Case.replied_at.is_not(None), "unreplied": Case.replied_at.is_(None),
                   "on_time": Case.replied_on_time.is_(True), "late": Case.replied_on_time.is_(False)}
        yield or_(*(replies[code] for code in f["reply"]))
    if "light" in f:
        yield exists().where(HumanTask.case_id == Case.id, HumanTask.state == "ready",
                             light_expr(now).in_(list(f["light"])))
    if "overdue" in f:
        late = exists().where(HumanTask.case_id == Case.id, HumanTask.state == "ready",
                              HumanTask.paused_at.is_(None), HumanTask.due_at < now)
        yield late if f["overdue"] else ~late
    for key, column in (("supervised", Case.supervision_count), ("extended", Case.extension_count),
                        ("returned", Case.return_count)):
        if key in f:
            yield column > 0 if f[key] else column == 0
    if "duplicate" in f:
        yield Case.duplicate_of_id.is_not(None) if f["duplicate"] else Case.duplicate_of_id.is_(None)


def _texts(session: Session, platform: Platform, f: dict[str, Any]) -> Iterator[ColumnElement[bool]]:
    if f.get("q"):
        yield _text(session, str(f["q"]))
    if f.get("location"):
        yield Case.location.ilike(like_pattern(str(f["location"])), escape="\\")
    for key in ("phone", "id_number"):
        if f.get(key):
            yield _requester_hash(platform, key, str(f[key]))


def _seek(column: Any, descending: bool, cursor: tuple[Any, int]) -> ColumnElement[bool]:
    """Rows after the cursor in the order (column, id) both ascending or both descending, NULLs last."""
    value, case_id = cursor
    id_past = Case.id < case_id if descending else Case.id > case_id
    if value is None:
        return and_(column.is_(None), id_past)
    past = column < value if descending else column > value
    return or_(past, and_(column == value, id_past), column.is_(None))


def _seek_back(column: Any, descending: bool, cursor: tuple[Any, int]) -> ColumnElement[bool]:
    """Rows before the cursor (the mirror of `_seek`)."""
    value, case_id = cursor
    id_before = Case.id > case_id if descending else Case.id < case_id
    if value is None:
        return or_(column.is_not(None), and_(column.is_(None), id_before))
    before = column > value if descending else column < value
    return or_(before, and_(column == value, id_before))


def order(column: Any, descending: bool, backward: bool) -> list[Any]:
    if backward:
        return [column.asc().nulls_first() if descending else column.desc().nulls_first(),
                Case.id.asc() if descending else Case.id.desc()]
    return [column.desc().nulls_last() if descending else column.asc().nulls_last(),
            Case.id.desc() if descending else Case.id.asc()]


def base_select(session: Session, platform: Platform, actor: Actor, query: CaseQuery) -> Select[Case, str, str]:
    """The cases of the query the actor may see, with the lead unit's name and the requester's name."""
    require(actor, "case.read")
    return (select(Case, LeadUnit.name, Requester.name)
            .join(Requester, Case.requester_id == Requester.id)
            .outerjoin(LeadUnit, Case.lead_unit_id == LeadUnit.id)
            .where(scope.visible_cases_for(session, actor), *conditions(session, platform, query)))


def item(case: Case, lead_unit: str | None, requester: str) -> dict[str, Any]:
    """One result row as the API answers it (the requester's name masked)."""
    def at(value: datetime | None) -> str | None:
        return value.isoformat(timespec="seconds") if value else None
    return {"id": case.id, "number": case.number, "created_at": at(case.created_at), "kind": case.kind,
            "channel": case.channel, "category": case.category, "subject": case.subject, "status": case.status,
            "dispatch_mode": case.dispatch_mode, "lead_unit_id": case.lead_unit_id, "lead_unit": lead_unit,
            "due_at": at(case.due_at), "replied_at": at(case.replied_at), "closed_at": at(case.closed_at),
            "satisfaction": case.satisfaction, "requester": mask_name(requester),
            "duplicate_of_id": case.duplicate_of_id}


def page(session: Session, platform: Platform, actor: Actor, query: CaseQuery) -> dict[str, Any]:
    """One keyset page: `items`, `next` (a cursor for `after`, or None at the end), `prev` (for `before`)."""
    column = SORT_COLUMNS[query.sort]
    stmt = base_select(session, platform, actor, query)
    backward = query.before is not None
    if query.after is not None:
        stmt = stmt.where(_seek(column, query.descending, query.after))
    if query.before is not None:
        stmt = stmt.where(_seek_back(column, query.descending, query.before))
    rows = list(session.execute(stmt.order_by(*order(column, query.descending, backward)).limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    if backward:
        rows.reverse()
    cursor = [encode_cursor(getattr(c, column.key), c.id) for c, _, _ in rows]
    has_next = bool(rows) and (more if not backward else True)
    has_prev = bool(rows) and (more if backward else query.after is not None)
    return {"items": [item(c, u, r) for c, u, r in rows], "next": cursor[-1] if has_next else None,
            "prev": cursor[0] if has_prev else None}


def search(platform: Platform, actor: Actor, query: CaseQuery) -> dict[str, Any]:
    with platform.db.reading() as session:
        return page(session, platform, actor, query)


def walk(session: Session, platform: Platform, actor: Actor, query: CaseQuery, *, batch: int = 1000,
         cap: int | None = None) -> Iterator[tuple[Case, str | None, str]]:
    """Every row of the query in its order, read a keyset batch at a time (for exports), at most `cap`."""
    column = SORT_COLUMNS[query.sort]
    base = base_select(session, platform, actor, query)
    cursor: tuple[Any, int] | None = None
    given = 0
    while cap is None or given < cap:
        size = batch if cap is None else min(batch, cap - given)
        stmt = base if cursor is None else base.where(_seek(column, query.descending, cursor))
        rows = list(session.execute(stmt.order_by(*order(column, query.descending, False)).limit(size)))
        for row in rows:
            yield row[0], row[1], row[2]
        given += len(rows)
        if len(rows) < size:
            return
        last = rows[-1][0]
        cursor = (getattr(last, column.key), last.id)
        session.expunge_all()


def count(session: Session, platform: Platform, actor: Actor, query: CaseQuery) -> int:
    """How many rows the query has for the actor (an export's total)."""
    require(actor, "case.read")
    return int(session.scalar(select(func.count()).select_from(Case).where(
        scope.visible_cases_for(session, actor), *conditions(session, platform, query))) or 0)



def form_choices(platform: Platform) -> dict[str, Any]:
    """What the /query form offers: the dictionary's kinds, channels, statuses, categories and the units."""
    with platform.db.reading() as session:
        return {"kind": dictionary.labels(session, "kind"), "channel": dictionary.labels(session, "channel"),
                "status": dictionary.status_labels(session), "category": dictionary.labels(session, "category"),
                "units": [(u.id, u.name) for u in session.scalars(select(Unit).where(Unit.active).order_by(Unit.path))]}
