"""Who may see what and who may work what: the one home of both rules (docs/security.md, "seeing vs working").

- **May see** a case: the actor holds a case role and their unit, or a unit below it, is involved (registering,
  lead or assisting unit, or the unit of any of its tasks, now or before) — or they are a task's assignee.
  Leaders and the centre's desks see their child units' cases this way. `visible_cases` is the rule as SQL,
  `may_see` asks it for one case, `in_scope` is the "at or below the actor's unit" test both are built on.
- **May work** a task: the actor holds the task's role and is of the task's **own** unit — not a unit above
  it — or is its explicit assignee. `workable_tasks` is the rule as SQL, `may_work` asks it for one task.
  A leader above supervises (a message to the process) and approves what the process sends to them; they
  do not complete a child unit's steps.
- **Never one's own approval** (职责分离): an approval step (its BPMN `requestedBy` names the step that asked,
  read from the deployed definition) is never worked by whoever completed that asking step — an extension,
  a 不予受理, a return. `own_request` finds it from the audit trail of the case.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, any_, exists, false, func, literal_column, or_, select, true, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from app.db import remembered
from app.domain.roles import CASE_ROLES
from app.errors import CaseOutOfScope, NotFound
from app.models import AuditEvent, Case, HumanTask, Unit, case_assisting_unit
from app.services import steps
from app.services.actors import Actor


def in_scope(actor: Actor, unit_id: ColumnElement[int | None] | InstrumentedAttribute[int | None]
             ) -> ColumnElement[bool]:
    """`unit_id` names the actor's unit or a unit below it (false for an actor without a unit)."""
    return _under(actor.unit_path, unit_id)


def _under(unit_path: str, unit_id: ColumnElement[int | None] | InstrumentedAttribute[int | None]
           ) -> ColumnElement[bool]:
    if not unit_path:
        return false()
    return unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit_path, autoescape=True)))


def visible_cases(actor: Actor) -> ColumnElement[bool]:
    """May see, as a WHERE clause on Case."""
    return _visible(frozenset(actor.roles & CASE_ROLES), actor.unit_path, actor.user_id)


@lru_cache(maxsize=4096)
def _visible(roles: frozenset[str], unit_path: str, user_id: int | None) -> ColumnElement[bool]:
    """visible_cases, built once per distinct scope (a clause depends on nothing else, so it never goes stale):
    the case page asks it twice, and building its four disjuncts cost more Python than PostgreSQL takes to
    answer them (docs/bench.md)."""
    if not roles or not unit_path:
        return false()
    task = aliased(HumanTask)  # callers may already select from human_task
    mine = [task.assignee_id == user_id] if user_id is not None else []
    return or_(
        _under(unit_path, Case.registering_unit_id),
        _under(unit_path, Case.lead_unit_id),
        exists().where(case_assisting_unit.c.case_id == Case.id, _under(unit_path, case_assisting_unit.c.unit_id)),
        exists().where(task.case_id == Case.id, or_(_under(unit_path, task.unit_id), *mine)),  # e.g. a 复查 unit
    )


def visible_cases_for(session: Session, actor: Actor) -> ColumnElement[bool]:
    """`visible_cases` for lists at scale: true for an actor whose scope holds every unit (the centre: every
    case has a registering unit), else the same four disjuncts over the unit ids read once (a literal list the
    planner estimates, not a LIKE per branch), the task branch split by unit and by assignee so each is an index
    (human_task (unit_id, case_id), (assignee_id))."""
    if not actor.roles & CASE_ROLES or not actor.unit_path:
        return false()
    units = sorted(units_in_scope(session, actor))
    if len(units) == session.scalar(select(func.count()).select_from(Unit)):
        return true()
    if not units:
        return false()
    task = aliased(HumanTask)
    mine = [Case.id.in_(select(task.case_id).where(task.assignee_id == actor.user_id))] \
        if actor.user_id is not None else []
    return or_(
        Case.registering_unit_id.in_(units),
        Case.lead_unit_id.in_(units),
        Case.id.in_(select(case_assisting_unit.c.case_id).where(case_assisting_unit.c.unit_id.in_(units))),
        # A probe per case the cheaper branches left (OFFSET 0 keeps PostgreSQL from hashing every task of the
        # units first: ~100,000 rows for a bureau at 1 M cases, where a page reads a few hundred cases).
        exists(select(HumanTask.id).where(HumanTask.case_id == Case.id, HumanTask.unit_id.in_(units)).offset(0)),
        *mine,
    )


def visible_cases_by_index(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    """`visible_cases_for` of a unit's leader as clauses PostgreSQL answers from indexes alone, so it can AND
    their bitmap with another index's (a text condition's trigram matches) before reading any row: the
    registering or lead unit among the units, or the id among the cases seen otherwise — by an assisting unit,
    a task of the units, an own task — less those two (found first and once, by index-only merges of
    human_task (unit_id, case_id) with case (lead_unit_id, id) and (registering_unit_id, id): usually a
    handful). PostgreSQL only; None when the actor sees the city or nothing (no bitmap to intersect)."""
    if not actor.roles & CASE_ROLES or not actor.unit_path:
        return None
    units = sorted(units_in_scope(session, actor))
    if not units or len(units) == session.scalar(select(func.count()).select_from(Unit)):
        return None
    task, lead, registered = aliased(HumanTask), aliased(Case), aliased(Case)
    others = [
        select(task.case_id.label("id")).where(
            _among(task.unit_id, units),
            ~exists().where(lead.id == task.case_id, _among(lead.lead_unit_id, units)),
            ~exists().where(registered.id == task.case_id, _among(registered.registering_unit_id, units))),
        select(case_assisting_unit.c.case_id.label("id")).where(case_assisting_unit.c.unit_id.in_(units)),
    ]
    if actor.user_id is not None:
        mine = aliased(HumanTask)
        others.append(select(mine.case_id.label("id")).where(mine.assignee_id == actor.user_id))
    found = union_all(*others).subquery("seen_otherwise")
    ids = select(func.array_agg(found.c.id)).scalar_subquery()
    return or_(_among(Case.registering_unit_id, units), _among(Case.lead_unit_id, units),
               Case.id == any_(func.coalesce(ids, literal_column("'{}'::integer[]"))))


def _among(column: Any, ids: list[int]) -> ColumnElement[bool]:
    """`column IN ids`, as `=` for one id (an index on (column, id) then gives the ids in order: a merge)."""
    return column == ids[0] if len(ids) == 1 else column.in_(ids)


def may_see(session: Session, actor: Actor, case_id: int) -> bool:
    """May see, for one case (the same clause, asked for its id)."""
    return session.scalar(select(Case.id).where(Case.id == case_id, visible_cases(actor))) is not None


def units_in_scope(session: Session, actor: Actor) -> frozenset[int]:
    """The ids of the actor's unit and every unit below it (`in_scope`), read once per transaction."""
    return remembered(session, ("units in scope", actor.unit_path), lambda: frozenset(
        session.scalars(select(Unit.id).where(in_scope(actor, Unit.id)))))


def unit_in_scope(session: Session, actor: Actor, unit_id: int | None) -> bool:
    """The unit is the actor's or below it (e.g. the registering unit of a 举报, for its accuser's identity)."""
    return unit_id is not None and unit_id in units_in_scope(session, actor)


def workable_tasks(actor: Actor) -> ColumnElement[bool]:
    """May work, as a WHERE clause on HumanTask (whatever its state: callers add `state == 'ready'`)."""
    roles = sorted(actor.roles & CASE_ROLES)
    if not roles:
        return false()
    whose = [HumanTask.unit_id == actor.unit_id] if actor.unit_id is not None else []
    if actor.user_id is not None:
        whose.append(HumanTask.assignee_id == actor.user_id)
    if not whose:
        return false()
    return and_(HumanTask.role.in_(roles), or_(*whose))


def workable_task_parts(actor: Actor) -> list[ColumnElement[bool]]:
    """`workable_tasks` as disjoint clauses (the own unit's tasks; the actor's own tasks at other units), each
    one range of an index: a worklist reads them as a UNION ALL instead of an OR, which PostgreSQL can only
    answer by collecting and sorting every ready task of the unit."""
    roles = sorted(actor.roles & CASE_ROLES)
    if not roles:
        return []
    parts = [and_(HumanTask.role.in_(roles), HumanTask.unit_id == actor.unit_id)] if actor.unit_id is not None else []
    if actor.user_id is not None:
        elsewhere = (or_(HumanTask.unit_id != actor.unit_id, HumanTask.unit_id.is_(None))
                     if actor.unit_id is not None else true())
        parts.append(and_(HumanTask.role.in_(roles), HumanTask.assignee_id == actor.user_id, elsewhere))
    return parts


def may_work(session: Session, actor: Actor, task_id: str) -> bool:
    """May work, for one task (the same clause, asked for its id)."""
    return session.scalar(select(HumanTask.id).where(HumanTask.id == task_id, workable_tasks(actor))) is not None


def own_request(session: Session, actor: Actor, case: Case, task: HumanTask,
                events: Sequence[AuditEvent] | None = None) -> str | None:
    """The asking step's id when `task` approves a request the actor made; None when they may decide it.

    The asker is whoever completed the asking step last before this task (the audit trail of the case,
    `events` if the caller has read it, oldest first): the completion that sent the request here."""
    asking = steps.requesting_step(session, case, task.spec_name)
    if asking is None or actor.user_id is None:
        return None
    if events is not None:
        completions = [(e.actor_id, e.detail) for e in reversed(events) if e.action == "task.completed"]
    else:
        completions = [(who, detail) for who, detail in session.execute(
            select(AuditEvent.actor_id, AuditEvent.detail).where(
                AuditEvent.case_id == case.id, AuditEvent.action == "task.completed").order_by(AuditEvent.id.desc()))]
    asker = next((who for who, detail in completions if (detail or {}).get("task") == asking), None)
    return asking if asker == actor.user_id else None


def find_case(session: Session, actor: Actor, case_id: int) -> Case:
    """The case if the actor may see it; otherwise NotFound, so its existence is not told."""
    if not actor.can("case.read"):
        raise NotFound("诉求件不存在")
    case = session.scalar(select(Case).where(Case.id == case_id, visible_cases(actor)))
    if case is None:
        if session.scalar(select(Case.id).where(Case.id == case_id)) is not None:
            raise CaseOutOfScope(case_id)
        raise NotFound("诉求件不存在")
    return case
