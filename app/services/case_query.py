"""The combined query (内部查询) as SQL: the parsed conditions of app.domain.case_query over the cases the actor
may see (scope.visible_cases), sorted by any shown column and paged by keyset, so page 500 costs what page 1 does.

Text goes through the case text index (PostgreSQL pg_trgm GIN with ILIKE; SQLite the FTS5 trigram table for
three characters or more), `%`/`_` matched literally. Phone and ID number match the keyed hashes only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    any_,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, defer, lazyload

from app.domain import e_supervision as es
from app.domain.case_query import CaseQuery, day_range, encode_cursor, fts_phrase, like_pattern
from app.domain.identity import InvalidPhone, normalise_id_number, normalise_phone
from app.domain.masking import mask_name
from app.errors import Invalid
from app.models import Case, HumanTask, Requester, Unit, case_assisting_unit
from app.models.queries import CASE_FTS_TABLE
from app.services import dictionary, e_supervision, scope
from app.services.actors import Actor, require
from app.services.platform import Platform
from app.services.tasks import READY, light_expr

SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "number": Case.number, "created_at": Case.created_at, "kind": Case.kind, "channel": Case.channel,
    "category": Case.category, "subject": Case.subject, "status": Case.status, "lead_unit": Case.lead_unit_id,
    "due_at": Case.due_at, "replied_at": Case.replied_at, "closed_at": Case.closed_at,
    "satisfaction": Case.satisfaction,
}
# Columns that are never NULL: ordered and sought as a plain (column, id) pair, which a btree index on
# (column, id) walks either way (a NULLS LAST order on them would force a sort of every matching row).
NOT_NULL = frozenset({"number", "created_at", "kind", "channel", "subject", "status"})
LeadUnit = aliased(Unit)


def _subtree(session: Session, unit_id: int) -> list[int]:
    """The unit and every unit below it (by materialized path), read now: a literal list the planner estimates."""
    path = select(Unit.path).where(Unit.id == unit_id).scalar_subquery()
    return list(session.scalars(select(Unit.id).where(or_(Unit.id == unit_id, Unit.path.startswith(path)))))


def _among(column: Any, ids: list[int]) -> ColumnElement[bool]:
    """`column IN ids`, as `=` for one id (so an index on (column, created_at) keeps its order)."""
    return column == ids[0] if len(ids) == 1 else column.in_(ids)


def _handled_by(user_id: int, assisting: bool) -> ColumnElement[bool]:
    """A step of the lead unit (or of an assisting unit) was done by, or is assigned to, the user."""
    task = aliased(HumanTask)
    unit = (exists().where(case_assisting_unit.c.case_id == Case.id, case_assisting_unit.c.unit_id == task.unit_id)
            .correlate(Case, task)
            if assisting else task.unit_id == Case.lead_unit_id)
    return exists().where(task.case_id == Case.id, unit,
                          or_(task.completed_by_id == user_id, task.assignee_id == user_id))


def _text(session: Session, needle: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "sqlite" and len(needle) >= 3:
        fts: ColumnElement[Any] = literal_column(CASE_FTS_TABLE)
        return Case.id.in_(select(literal_column("rowid")).select_from(text(CASE_FTS_TABLE))
                           .where(fts.op("MATCH")(fts_phrase(needle))))
    pattern = like_pattern(needle)
    if needle.lower() == needle.upper():  # nothing to fold (Chinese, digits): LIKE, ten times cheaper to recheck
        matches = or_(Case.subject.like(pattern, escape="\\"), Case.content.like(pattern, escape="\\"))
    else:
        matches = or_(Case.subject.ilike(pattern, escape="\\"), Case.content.ilike(pattern, escape="\\"))
    return matches


def _trigram_first(session: Session, query: CaseQuery) -> bool:
    """A text condition the trigram indexes answer (PostgreSQL, three characters or more): the page's rows are
    then found by them alone and sorted (`_page_ids`), or the planner walks the sort order testing every row —
    the whole table when the scope holds few or no matches."""
    return session.get_bind().dialect.name == "postgresql" and len(str(query.filters.get("q", ""))) >= 3


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
    return [*_codes(f), *_units(session, f), *_states(session, f, platform.clock.now()), *_texts(session, platform, f)]


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


def _units(session: Session, f: dict[str, Any]) -> Iterator[ColumnElement[bool]]:
    if "lead_unit" in f:
        yield _among(Case.lead_unit_id, _subtree(session, f["lead_unit"]))
    if "assisting_unit" in f:
        yield exists().where(case_assisting_unit.c.case_id == Case.id,
                             case_assisting_unit.c.unit_id.in_(_subtree(session, f["assisting_unit"])))
    if "area" in f:
        yield _among(Case.area_unit_id, _subtree(session, f["area"]))
    if "lead_user" in f:
        yield _handled_by(f["lead_user"], assisting=False)
    if "assisting_user" in f:
        yield _handled_by(f["assisting_user"], assisting=True)


def _among_found(session: Session, ids: Select[Any]) -> ColumnElement[bool]:
    """`Case.id IN (ids)`; on PostgreSQL `id = ANY((SELECT array_agg(…)))`: the ids are found once, first and
    alone (an init plan the planner cannot pull up), then read by primary key and sorted. As a join, the
    planner — its estimates of the condition and of the scope far off — walks the sort order or the whole
    table testing every case in scope to find a few thousand."""
    if session.get_bind().dialect.name != "postgresql":
        return Case.id.in_(ids)
    column = ids.selected_columns[0]
    found = ids.with_only_columns(func.array_agg(column)).scalar_subquery()
    return Case.id == any_(func.coalesce(found, literal_column("'{}'::integer[]")))


def _states(session: Session, f: dict[str, Any], now: datetime) -> Iterator[ColumnElement[bool]]:
    if "reply" in f:
        replies = {"replied": Case.replied_at.is_not(None), "unreplied": Case.replied_at.is_(None),
                   "on_time": Case.replied_on_time.is_(True), "late": Case.replied_on_time.is_(False)}
        yield or_(*(replies[code] for code in f["reply"]))
    # Over the ready steps (a few percent of all steps, in the partial ready-task indexes), as a set of case
    # ids rather than a probe per case: an EXISTS per row walks every case in the sort order to find few.
    if "light" in f:
        yield _among_found(session, select(HumanTask.case_id.label("id")).where(
            READY, light_expr(now).in_(list(f["light"]))))
    if "overdue" in f:
        late = select(HumanTask.case_id.label("id")).where(READY, HumanTask.paused_at.is_(None), HumanTask.due_at < now)
        yield _among_found(session, late) if f["overdue"] else Case.id.not_in(late)
    for key, column in (("supervised", Case.supervision_count), ("extended", Case.extension_count),
                        ("returned", Case.return_count)):
        if key in f:
            yield column > 0 if f[key] else column == 0
    if "flag" in f:  # any of the codes, as every list of codes
        yield or_(*(e_supervision.flag_clause(session, code, now) for code in f["flag"]))
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
    if value is not None and column.key in NOT_NULL:  # a row comparison: an index range, not an OR
        pair, at = tuple_(column, Case.id), tuple_(value, case_id)
        return pair < at if descending else pair > at
    id_past = Case.id < case_id if descending else Case.id > case_id
    if value is None:
        return and_(column.is_(None), id_past)
    past = column < value if descending else column > value
    return or_(past, and_(column == value, id_past), column.is_(None))


def _seek_back(column: Any, descending: bool, cursor: tuple[Any, int]) -> ColumnElement[bool]:
    """Rows before the cursor (the mirror of `_seek`)."""
    value, case_id = cursor
    if value is not None and column.key in NOT_NULL:
        pair, at = tuple_(column, Case.id), tuple_(value, case_id)
        return pair > at if descending else pair < at
    id_before = Case.id > case_id if descending else Case.id < case_id
    if value is None:
        return or_(column.is_not(None), and_(column.is_(None), id_before))
    before = column > value if descending else column < value
    return or_(before, and_(column == value, id_before))


def order(column: Any, descending: bool, backward: bool, case_id: Any = Case.id, not_null: bool | None = None
          ) -> list[Any]:
    """ORDER BY for the sort (reversed when walking back); NULLs last, said only where a NULL can be."""
    if column.key in NOT_NULL if not_null is None else not_null:
        down = descending != backward
        return [column.desc(), case_id.desc()] if down else [column.asc(), case_id.asc()]
    if backward:
        return [column.asc().nulls_first() if descending else column.desc().nulls_first(),
                case_id.asc() if descending else case_id.desc()]
    return [column.desc().nulls_last() if descending else column.asc().nulls_last(),
            case_id.desc() if descending else case_id.asc()]


def base_select(session: Session, platform: Platform, actor: Actor, query: CaseQuery) -> Select[Case, str, str]:
    """The cases of the query the actor may see, with the lead unit's name and the requester's name."""
    return _with_names(select(Case).where(*matching(session, platform, actor, query)))


def matching(session: Session, platform: Platform, actor: Actor, query: CaseQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the query for the actor: their scope and the query's conditions."""
    require(actor, "case.read")
    return [scope.visible_cases_for(session, actor), *conditions(session, platform, query)]


def _with_names(stmt: Select[Any]) -> Select[Case, str, str]:
    return (stmt.add_columns(LeadUnit.name, Requester.name)
            .join(Requester, Case.requester_id == Requester.id)
            .outerjoin(LeadUnit, Case.lead_unit_id == LeadUnit.id)
            .options(lazyload(Case.requester)))  # the name is selected; the phone only by exports (walk)


def _window(session: Session, platform: Platform, actor: Actor, query: CaseQuery, where: list[ColumnElement[bool]],
            backward: bool, size: int, *, fence: bool = True) -> Select[Case, str, str]:
    """`size` rows in the sort's order: the ids are found first (scope, conditions, cursor — the names joined
    only to the rows kept, not to every match a sort must see), then read whole in the same order."""
    ids = _page_ids(session, platform, actor, query, where, backward, size, fence=fence)
    return _with_names(select(Case).join(ids, ids.c.id == Case.id)).order_by(
        *order(SORT_COLUMNS[query.sort], query.descending, backward))


def _page_ids(session: Session, platform: Platform, actor: Actor, query: CaseQuery, where: list[ColumnElement[bool]],
              backward: bool, size: int, *, fence: bool = True) -> Any:
    """The ids of a page (a subquery with `id`), in the sort's order. With a trigram text condition every match
    is found first in one pass (a MATERIALIZED CTE: a fence the planner plans alone, by the trigram indexes),
    then sorted — not the walk down the sort index the LIMIT tempts the planner into."""
    column = SORT_COLUMNS[query.sort]
    found = select(Case.id).where(*matching(session, platform, actor, query), *where)
    if not (fence and _trigram_first(session, query)):
        return found.order_by(*order(column, query.descending, backward)).limit(size).subquery("page_ids")
    by_index = _scope_by_index(session, actor, query)
    if by_index is not None:
        found = select(Case.id).where(by_index, *conditions(session, platform, query), *where)
    matched = found.add_columns(column.label("sort_key")).cte("text_found").prefix_with("MATERIALIZED")
    return (select(matched.c.id).order_by(*order(matched.c.sort_key, query.descending, backward, matched.c.id,
                                                 column.key in NOT_NULL))
            .limit(size).subquery("page_ids"))


SCOPE_PER_MATCH = 8  # a unit's task rows cost about an eighth of a text match's heap read and recheck


def _scope_by_index(session: Session, actor: Actor, query: CaseQuery) -> ColumnElement[bool] | None:
    """The unit scope as an index bitmap (`scope.visible_cases_by_index`) when it is the cheaper side: when the
    unit's tasks are fewer than SCOPE_PER_MATCH times the term's matches (both the planner's estimates, read
    by EXPLAIN: no row is read). A term common in the city and rare in the unit's scope then costs the index
    reads of the scope instead of a heap read of every match (市城管局 and 噪声扰: 24,721 matches, none
    theirs); a rare term keeps the walk of its few matches. None: test the scope on each match."""
    by_index = scope.visible_cases_by_index(session, actor)
    if by_index is None:
        return None
    units = sorted(scope.units_in_scope(session, actor))
    tasks = _estimate(session, select(HumanTask.case_id).where(HumanTask.unit_id.in_(units)))
    matches = _estimate(session, select(Case.id).where(_text(session, str(query.filters["q"]))))
    return by_index if tasks < SCOPE_PER_MATCH * matches else None


def _estimate(session: Session, stmt: Select[Any]) -> float:
    """The planner's row estimate for a statement (EXPLAIN: planned, not run)."""
    compiled = stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    plan: Any = session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return float(plan[0]["Plan"]["Plan Rows"])


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
    backward = query.before is not None
    where = [_seek(column, query.descending, query.after)] if query.after is not None else \
        [_seek_back(column, query.descending, query.before)] if query.before is not None else []
    rows = _text_in_windows(session, platform, actor, query, where, backward)
    if rows is None:
        stmt = _window(session, platform, actor, query, where, backward, query.limit + 1).options(defer(Case.content))
        rows = list(session.execute(stmt))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    if backward:
        rows.reverse()
    cursor = [encode_cursor(getattr(c, column.key), c.id) for c, _, _ in rows]
    has_next = bool(rows) and (more if not backward else True)
    has_prev = bool(rows) and (more if backward else query.after is not None)
    return {"items": [item(c, u, r) for c, u, r in rows], "next": cursor[-1] if has_next else None,
            "prev": cursor[0] if has_prev else None}


TEXT_WINDOW = timedelta(days=31)  # a month of cases is walked in ~40 ms on the loaded box at 1 M


def _text_in_windows(session: Session, platform: Platform, actor: Actor, query: CaseQuery,
                     where: list[ColumnElement[bool]], backward: bool) -> list[Any] | None:
    """A trigram text page newest first, looked for in the month below its cursor before the pass over every
    match: the window bounds the walk down the created_at index, and a frequent term fills the page within it
    (a page of the window's first rows is the page itself: everything older sorts after). None when the window
    did not fill it — then the one pass (`_page_ids`) answers, having cost the walk of a month more."""
    if not (_trigram_first(session, query) and query.sort == "created_at" and query.descending and not backward):
        return None
    top = query.after[0] if query.after is not None else platform.clock.now()
    if not isinstance(top, datetime):
        return None
    stmt = _window(session, platform, actor, query, [*where, Case.created_at >= top - TEXT_WINDOW], False,
                   query.limit + 1, fence=False).options(defer(Case.content))
    rows = list(session.execute(stmt))
    return rows if len(rows) > query.limit else None


def search(platform: Platform, actor: Actor, query: CaseQuery) -> dict[str, Any]:
    with platform.db.reading() as session:
        return page(session, platform, actor, query)


EXPORT_COLUMNS = (Case.id, Case.number, Case.created_at, Case.kind, Case.channel, Case.category, Case.subject,
                  Case.status, Case.due_at, Case.replied_at, Case.closed_at, Case.satisfaction, Case.content,
                  Case.sensitivity, Case.registering_unit_id, Case.lead_unit_id)


def walk(session: Session, platform: Platform, actor: Actor, query: CaseQuery, *, batch: int = 2000,
         cap: int | None = None) -> Iterator[Row[Any]]:
    """Every row of the query in its order, read a keyset batch at a time (for exports), at most `cap`: plain
    rows of EXPORT_COLUMNS, `lead_unit` (its name), `requester` (the name) and `phone_enc` — no ORM objects,
    which would cost more than writing the row."""
    column = SORT_COLUMNS[query.sort]
    cursor: tuple[Any, int] | None = None
    given = 0
    while cap is None or given < cap:
        size = batch if cap is None else min(batch, cap - given)
        where = [] if cursor is None else [_seek(column, query.descending, cursor)]
        ids = _page_ids(session, platform, actor, query, where, False, size)
        stmt = (select(*EXPORT_COLUMNS, LeadUnit.name.label("lead_unit"), Requester.name.label("requester"),
                       Requester.phone_enc)
                .join(ids, ids.c.id == Case.id).join(Requester, Case.requester_id == Requester.id)
                .outerjoin(LeadUnit, Case.lead_unit_id == LeadUnit.id)
                .order_by(*order(column, query.descending, False)))
        rows: list[Row[Any]] = list(session.execute(stmt))
        yield from rows
        given += len(rows)
        if len(rows) < size:
            return
        cursor = (getattr(rows[-1], column.key), rows[-1].id)


def count(session: Session, platform: Platform, actor: Actor, query: CaseQuery, upto: int | None = None) -> int:
    """How many rows the query has for the actor, counting no further than `upto` when given (an export's
    total against its cap, the page's "1,000+": a bounded count stops where the answer is known)."""
    ids = select(Case.id).where(*matching(session, platform, actor, query))
    if upto is not None:
        ids = ids.limit(upto)
    return int(session.scalar(select(func.count()).select_from(ids.subquery())) or 0)



def form_choices(platform: Platform) -> dict[str, Any]:
    """What the /query form offers: the dictionary's kinds, channels, statuses, categories, 电子监察 flags (the
    queryable ones) and the units."""
    with platform.db.reading() as session:
        flags = e_supervision.flag_labels(session)
        return {"kind": dictionary.labels(session, "kind"), "channel": dictionary.labels(session, "channel"),
                "flag": {code: flags[code] for code in es.QUERYABLE},
                "status": dictionary.status_labels(session), "category": dictionary.labels(session, "category"),
                "units": [(u.id, u.name) for u in session.scalars(select(Unit).where(Unit.active).order_by(Unit.path))]}
