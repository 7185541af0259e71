"""Worklists and task completion. Lights are derived in SQL from the projection, never stored."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session, lazyload

from app.domain.lights import LIGHT_LABELS
from app.errors import Conflict, NotFound, NotPermitted
from app.models import AuditEvent, Case, HumanTask, Requester, Unit
from app.services import audit, incidents, notify, process, routing, scope, steps
from app.services.actors import Actor, require
from app.services.cases import task_light
from app.services.platform import Platform
from app.services.scope import find_case

LIGHTS = tuple(LIGHT_LABELS)
# `state = 'ready'` written as a literal, not a bound parameter: the worklist indexes are partial (WHERE state =
# 'ready'), and PostgreSQL can use one in a generic (cached) plan only when it sees the constant — with `state = $1`
# it planned every page afresh (docs/bench.md: the page rows 1.1 → 0.3 ms backend CPU, one connection). SQLite
# matches either.
READY = HumanTask.state == literal_column("'ready'", String)


def light_expr(now: datetime) -> ColumnElement[str]:
    """The SQL twin of app.domain.lights.light over HumanTask.paused_at / due_at / warn_at (NULL never fires,
    as None; a paused task is paused whatever its times).

    Kept in step with it by tests/unit/test_lights.py, which evaluates both at every boundary."""
    return case((HumanTask.paused_at.is_not(None), "paused"), (HumanTask.due_at < now, "red"),
                (HumanTask.warn_at <= now, "yellow"), else_="green")


def workable_by(actor: Actor) -> list[ColumnElement[bool]]:
    """WHERE clauses on HumanTask for the ready tasks the actor may work (the rule: scope.workable_tasks)."""
    return [READY, scope.workable_tasks(actor)]


TaskRow = tuple[HumanTask, Case, str | None, str | None, str]  # task, case, requester name, unit name, light


@dataclass(frozen=True)
class Worklist:
    """One page of an actor's ready tasks with the light counts and task choices over all of them."""

    rows: list[TaskRow]
    total: int
    page: int
    pages: int
    counts: dict[str, int]
    choices: dict[str, str]


def select_rows(session: Session, now: datetime, where: list[Any], order: list[Any], *, limit: int,
                offset: int = 0) -> list[TaskRow]:
    """Ready-task rows with their case, requester name, unit name and light (the requester's name only:
    its encrypted columns are not loaded)."""
    return [(task, case_, name, unit, light) for task, case_, name, unit, light in session.execute(
        select(HumanTask, Case, Requester.name, Unit.name, light_expr(now).label("light"))
        .join(Case, HumanTask.case_id == Case.id).join(Requester, Case.requester_id == Requester.id)
        .outerjoin(Unit, HumanTask.unit_id == Unit.id).where(*where).order_by(*order).limit(limit).offset(offset)
        .options(lazyload(Case.requester)))]


def light_where(now: datetime, light: str) -> ColumnElement[bool]:
    """`light_expr(now) == light` as plain comparisons, so a worklist filtered by light reads a range of the
    ready-task index (red: due before now) instead of computing the CASE for every task of the unit.

    Kept in step with light_expr by tests/unit/test_lights.py."""
    running = HumanTask.paused_at.is_(None)
    if light == "paused":
        return HumanTask.paused_at.is_not(None)
    if light == "red":
        return and_(running, HumanTask.due_at < now)
    not_red = or_(HumanTask.due_at >= now, HumanTask.due_at.is_(None))
    if light == "yellow":
        return and_(running, not_red, HumanTask.warn_at <= now)
    return and_(running, not_red, or_(HumanTask.warn_at > now, HumanTask.warn_at.is_(None)))


@dataclass(frozen=True)
class Tally:
    """The actor's ready tasks of one step (spec): how many, and how many paused, red and yellow."""

    spec_name: str
    title: str
    total: int
    paused: int
    red: int
    yellow: int

    def of(self, light: str | None) -> int:
        """How many of this step's tasks show `light` (all of them for None)."""
        if light not in LIGHTS:
            return self.total
        if light == "green":
            return self.total - self.paused - self.red - self.yellow
        return int(getattr(self, str(light)))


def tally(session: Session, now: datetime, parts: list[Any]) -> list[Tally]:
    """Per step, the ready tasks of `parts` and their lights: in one statement, each part one plain aggregate
    over its range of the ready-task partial index (index-only; the light tests are FILTERs on its INCLUDE
    columns, no CASE per task as a group key), never a unit's history. Green is what is neither paused, red
    nor yellow (light_where partitions the tasks)."""
    per_part = union_all(*[
        select(HumanTask.spec_name, func.min(HumanTask.title), func.count(),
               func.count().filter(light_where(now, "paused")), func.count().filter(light_where(now, "red")),
               func.count().filter(light_where(now, "yellow")))
        .where(READY, part).group_by(HumanTask.spec_name) for part in parts])
    merged: dict[str, Tally] = {}
    for spec, title, total, paused, red, yellow in session.execute(per_part):
        seen = merged.get(spec)
        merged[spec] = Tally(spec, title, total, paused, red, yellow) if seen is None else Tally(
            spec, min(seen.title, title), seen.total + total, seen.paused + paused, seen.red + red,
            seen.yellow + yellow)
    return list(merged.values())


def load_worklist(session: Session, now: datetime, actor: Actor, *, light: str | None = None,
                  kind: str | None = None, task: str | None = None, page: int = 1, per_page: int = 20,
                  descending: bool = False, pinned: frozenset[str] = frozenset()) -> Worklist:
    """The actor's ready tasks: `pinned` tasks (督办反馈) first, then by due time. One tally (`tally`) gives the
    light counts, the task choices and, unless a kind is asked for, the filtered total.

    The own unit's tasks and the actor's own tasks elsewhere are read as a UNION ALL of two index ranges
    (scope.workable_task_parts): an OR of the two would make PostgreSQL collect and sort every ready task
    of the unit for each page."""
    parts = scope.workable_task_parts(actor)
    if not parts:
        return Worklist([], 0, 1, 1, dict.fromkeys(LIGHTS, 0), {})
    steps_ = tally(session, now, parts)
    counts = {lt: sum(t.of(lt) for t in steps_) for lt in LIGHTS}
    choices = {t.spec_name: t.title for t in steps_}
    filters: list[Any] = []
    if task:
        filters.append(HumanTask.spec_name == task)
    if light in LIGHTS:
        filters.append(light_where(now, light))
    asked = [t for t in steps_ if not task or t.spec_name == task]
    if kind:
        filters.append(Case.kind == kind)
        total = session.scalar(select(func.count()).select_from(union_all(*[
            select(HumanTask.id).join(Case).where(READY, part, *filters) for part in parts]
        ).subquery())) or 0
    else:
        total = sum(t.of(light) for t in asked)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    pinned_count = None if kind else sum(t.of(light) for t in asked if t.spec_name in pinned)
    rows = _page_rows(session, now, parts, filters, descending, (page - 1) * per_page, per_page, pinned,
                      pinned_count, with_case=bool(kind))
    return Worklist(rows, total, page, pages, counts, dict(sorted(choices.items())))


def _page_rows(session: Session, now: datetime, parts: list[Any], filters: list[Any], descending: bool,
               start: int, size: int, pinned: frozenset[str], pinned_count: int | None, *,
               with_case: bool) -> list[TaskRow]:
    """Pinned tasks first, then the rest by due time: two ordered reads, so each walks the ready-task index
    instead of sorting every task of the unit. `pinned_count`: the pinned tasks matching, if the caller
    counted them."""
    due = HumanTask.due_at.desc().nulls_last() if descending else HumanTask.due_at.asc().nulls_last()
    order = [due, HumanTask.created_at, HumanTask.id]
    if not pinned:
        return _ordered(session, now, parts, filters, order, start, size, with_case)
    in_pinned = HumanTask.spec_name.in_(sorted(pinned))
    if pinned_count is None:
        pinned_count = session.scalar(select(func.count()).select_from(union_all(*[
            select(HumanTask.id).join(Case).where(READY, part, *filters, in_pinned)
            for part in parts]).subquery())) or 0
    rows: list[TaskRow] = []
    if start < pinned_count:
        rows = _ordered(session, now, parts, [*filters, in_pinned], order, start, size, with_case)
    if len(rows) < size:
        rows += _ordered(session, now, parts, [*filters, HumanTask.spec_name.not_in(sorted(pinned))], order,
                         max(0, start - pinned_count), size - len(rows), with_case)
    return rows


def _ordered(session: Session, now: datetime, parts: list[Any], filters: list[Any], order: list[Any], start: int,
             size: int, with_case: bool) -> list[TaskRow]:
    """One page of ready tasks in `order` over the union of `parts`: each part walks its index range for its
    first start + size tasks, the page is cut from the merge. `with_case`: a filter names a Case column."""
    if len(parts) == 1:
        return select_rows(session, now, [READY, parts[0], *filters], order, limit=size, offset=start)
    firsts = [(select(HumanTask.id).join(Case) if with_case else select(HumanTask.id))
              .where(READY, part, *filters).order_by(*order).limit(start + size).subquery() for part in parts]
    ids = union_all(*[select(first.c.id) for first in firsts])  # SQLite: a LIMIT inside a UNION needs its own FROM
    return select_rows(session, now, [HumanTask.id.in_(ids.scalar_subquery())], order, limit=size, offset=start)


def worklist(platform: Platform, actor: Actor, *, light: str | None = None, kind: str | None = None,
             task: str | None = None, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """The actor's ready tasks for API clients, soonest due first, with counts per light."""
    require(actor, "case.read")
    with platform.db.reading() as session:
        found = load_worklist(session, platform.clock.now(), actor, light=light, kind=kind, task=task, page=page,
                              per_page=per_page)
    return {"items": [_task_item(t, c, lt) for t, c, _, _, lt in found.rows], "total": found.total,
            "page": found.page, "counts": found.counts}


def _task_item(t: HumanTask, c: Case, light: str) -> dict[str, Any]:
    return {"id": t.id, "case_id": c.id, "case_number": c.number, "title": t.title, "task": t.spec_name,
            "role": t.role, "unit_id": t.unit_id, "light": light, "kind": c.kind, "subject": c.subject,
            "due_at": t.due_at.isoformat() if t.due_at else None,
            "warn_at": t.warn_at.isoformat() if t.warn_at else None,
            "case_due_at": c.due_at.isoformat() if c.due_at else None}


def find_task(session: Session, actor: Actor, task_id: str) -> tuple[HumanTask, Case]:
    """A task the actor may see (its case in scope); NotFound otherwise."""
    if not actor.can("case.read"):
        raise NotFound("任务不存在")
    row = session.execute(select(HumanTask, Case).join(Case).where(HumanTask.id == task_id,
                                                                    scope.visible_cases(actor))).first()
    if row is None:
        raise NotFound("任务不存在")
    return row[0], row[1]


def _task_to_work(session: Session, actor: Actor, task_id: str) -> tuple[HumanTask, Case]:
    """`find_task` and `scope.may_work` in one statement, the case row locked until commit (`process.lock_case`:
    one writer per case); NotFound / NotPermitted as they answer."""
    if not actor.can("case.read"):
        raise NotFound("任务不存在")
    row = session.execute(select(HumanTask, Case, scope.workable_tasks(actor).label("workable")).join(Case)
                          .where(HumanTask.id == task_id, scope.visible_cases(actor))
                          .with_for_update(of=Case).execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound("任务不存在")
    if not row.workable:
        raise NotPermitted("该任务不属于您的岗位或单位：任务只由其所属单位（或指定的经办人）办理")
    return row[0], row[1]


def get_task(platform: Platform, actor: Actor, task_id: str) -> dict[str, Any]:
    """One task with its form's JSON Schema."""
    with platform.db.reading() as session:
        task, case_row = find_task(session, actor, task_id)
        return task_view(session, platform, actor, task, case_row, forms_of(session, case_row.id))


def forms_of(session: Session, case_id: int) -> dict[str, Any]:
    """The forms of the case's process definition (steps.definition_of: read once per transaction)."""
    found = steps.definition_of(session, case_id)
    return found.forms if found else {}


def task_view(session: Session, platform: Platform, actor: Actor, task: HumanTask, case_row: Case,
              forms: dict[str, Any], *, workable: bool | None = None,
              events: Sequence[AuditEvent] | None = None) -> dict[str, Any]:
    """get_task in the caller's session, for a task already found in a case the actor may see. `workable`:
    whether scope.workable_tasks holds for it, if the caller asked that already; `events`: the case's audit
    rows, if read (the approval rule looks up who asked)."""
    item = _task_item(task, case_row, task_light(task, platform.clock.now()))
    if workable is None:
        workable = scope.may_work(session, actor, task.id)
    may_complete = (task.state == "ready" and workable
                    and scope.own_request(session, actor, case_row, task, events) is None)
    item.update(state=task.state, form=forms.get(task.form or "", {}), form_name=task.form,
                may_complete=may_complete)
    return item


def complete_task(platform: Platform, actor: Actor, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Complete a task with its form data; a second completion (a double click, a colleague) gets Conflict.
    A process failure rolls the step back whole and flags the case for an administrator."""
    try:
        return _complete(platform, actor, task_id, data)
    except Conflict as e:  # the loser of a race is on the record too (fault table row 1)
        _record_conflict(platform, actor, task_id, e.message)
        raise
    except process.ProcessIncident as e:
        with platform.db.reading() as session:
            case_id = session.scalar(select(HumanTask.case_id).where(HumanTask.id == task_id))
        if case_id is not None:
            incidents.record(platform, actor, case_id, e)
        raise


def _record_conflict(platform: Platform, actor: Actor, task_id: str, reason: str) -> None:
    with platform.db.unit_of_work() as session:
        task = session.get(HumanTask, task_id)
        audit.record(session, platform, actor, "task.conflict", case_id=task.case_id if task else None,
                     detail={"task_id": task_id, "step": task.spec_name if task else None, "reason": reason})
        session.commit()


def _complete(platform: Platform, actor: Actor, task_id: str, data: dict[str, Any]) -> dict[str, Any]:
    with platform.db.unit_of_work() as session:
        task, locked = _task_to_work(session, actor, task_id)
        asked = scope.own_request(session, actor, locked, task)
        if asked is not None:  # refused, and the refusal is on the record (its own commit)
            audit.record(session, platform, actor, "task.refused_own_request", case_id=locked.id,
                         detail={"task": task.spec_name, "title": task.title, "requested_by_task": asked})
            session.commit()
            raise NotPermitted(f"职责分离：「{task.title}」审批的是您本人提出的申请，须由其他有审批权限的人员办理")
        if task.paused_at is not None:  # its clock stands still (app.services.pauses): resume it first
            raise Conflict("该任务正在暂停计时,请先恢复计时再办理")
        if task.form == "dispatch.json":  # a choice other than the 派单目录's needs its reason (audited)
            routing.check_dispatch(session, platform, actor, locked, data)
        result = complete_locked(session, platform, actor, locked, task, data)
        session.commit()
        return result


def complete_locked(session: Session, platform: Platform, actor: Actor, locked: Case, task: HumanTask,
                    data: dict[str, Any], **detail: Any) -> dict[str, Any]:
    """Complete a ready task of a locked case (the caller checked who may): the run, its notices, the audit
    row. The citizens' portal completes 回访 and 复查申请 so, for the requester who proved the case is theirs."""
    change = process.complete(session, platform, locked, task, data, actor.user_id)
    notify.process_ran(session, platform, locked, change)
    audit.record(session, platform, actor, "task.completed", case_id=locked.id,
                 detail={"task": task.spec_name, "title": task.title, "data": change.run.submitted, **detail})
    return {"case_id": locked.id, "status": locked.status, "tasks": [t.task_id for t in change.run.tasks]}


def supervise(platform: Platform, actor: Actor, case_id: int, note: str) -> dict[str, Any]:
    """督办: a leader urges the unit; the process asks the unit for written feedback (repeatable)."""
    if not actor.can("case.supervise"):
        raise NotPermitted("没有督办权限")
    with platform.db.unit_of_work() as session:
        find_case(session, actor, case_id)
        locked = process.lock_case(session, case_id)
        supervise_locked(session, platform, actor, locked, note, actor.name or actor.label)
        session.commit()
        return {"case_id": case_id, "status": locked.status}


def supervise_locked(session: Session, platform: Platform, actor: Actor, locked: Case, note: str, by: str,
                     **detail: Any) -> int:
    """The 督办 message into a locked case's process, its SMS and its audit row (a leader's, or the escalation
    ladder's automatic one); answers its serial. Conflict when the case is not being handled."""
    change = process.send_message(session, platform, locked, "supervise", {"supervision_note": note,
                                                                            "supervised_by": by})
    notify.process_ran(session, platform, locked, change)
    serial = len(session.scalars(select(AuditEvent.id).where(AuditEvent.case_id == locked.id,
                                                             AuditEvent.action == "case.supervised")).all()) + 1
    notify.supervised(session, platform, locked, serial)
    audit.record(session, platform, actor, "case.supervised", case_id=locked.id,
                 detail={"note": note, "serial": serial, **detail})
    return serial
