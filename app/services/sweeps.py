"""The scheduler's work, as plain services: fire due BPMN timers, raise yellow/red warnings, send SMS.

Safe with several scheduler processes on one database: timers are claimed row by row with
`FOR UPDATE SKIP LOCKED` (SQLite writers are serialized by `BEGIN IMMEDIATE`, which does the same),
and a warning exists once per task and colour because its key is the primary key of `task_warning`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from time import monotonic
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, select
from sqlalchemy.orm import Session

from app.db import conflict_insert
from app.errors import HuiyinError
from app.models import Case, HumanTask, ProcessTimer, TaskWarning
from app.services import audit, incidents, notify, outbox, process
from app.services.actors import Actor
from app.services.platform import Platform

log = logging.getLogger("huiyin.sweeps")


@dataclass
class SweepResult:
    timers_fired: int = 0
    incidents: int = 0
    warnings: int = 0
    deferred: int = 0


PASS_BUDGET = 1.0  # seconds a pass spends on engine runs (timers, automatic 督办: 20–30 ms each); the rest is the
# next pass's (a minute later) or another scheduler's, so no pass holds a scheduler for long


def sweep_due_timers(platform: Platform, worker: str, limit: int = 500,
                     budget: float | None = PASS_BUDGET) -> SweepResult:
    """Fire the timers that are due, at most `limit` and for at most `budget` seconds after the first (None: no
    bound), each case in its own transaction so one failure stops only itself."""
    result = SweepResult()
    seen: set[int] = set()  # a case whose timer the engine did not take is not retried in a hot loop
    stop = monotonic() + (budget or 0)
    for _ in range(limit):
        if budget is not None and seen and monotonic() > stop:
            return result
        with platform.db.unit_of_work() as session:
            # Claim the case, not the timer row: a task completion locks the case first too, so the two
            # never wait on each other in opposite orders; a case another scheduler holds is skipped.
            now = platform.clock.now()
            case_id = session.scalar(select(Case.id).join(ProcessTimer, ProcessTimer.case_id == Case.id)
                                     .where(ProcessTimer.fire_at <= now, Case.id.not_in(seen))
                                     .order_by(ProcessTimer.fire_at).limit(1)
                                     .with_for_update(of=Case, skip_locked=True))
            if case_id is None:
                return result
            seen.add(case_id)
            name = session.scalar(select(ProcessTimer.spec_name).where(ProcessTimer.case_id == case_id,
                                                                       ProcessTimer.fire_at <= now).limit(1))
            if name is None:  # fired by another scheduler between our look and our lock
                continue
            try:
                case = process.lock_case(session, case_id)
                notify.process_ran(session, platform, case, process.run_due_timers(session, platform, case))
                audit.record(session, platform, Actor(label=worker), "timer.fired", case_id=case_id,
                             detail={"timer": name})
                session.commit()
                result.timers_fired += 1
            except process.ProcessIncident as e:
                session.rollback()
                incidents.record(platform, Actor(label=worker), case_id, e)
                result.incidents += 1
            except HuiyinError as e:  # a known refusal (e.g. a calendar year not confirmed): retried next pass
                session.rollback()
                log.warning("timer of case %s not fired: %s", case_id, e.message)
                result.deferred += 1
    return result


WARNING_BATCH = 1000  # warnings claimed per colour and pass; a backlog drains over the next passes


def raise_warnings(platform: Platform, worker: str, batch: int = WARNING_BATCH) -> SweepResult:
    """Insert one warning per task and colour that has reached it, at most `batch` per colour (the most urgent
    first); the primary key makes repeats no-ops. A paused task (its clock stands still) raises none.

    Set-based: the tasks still to warn are one index range (ready, past the time) anti-joined with the
    warnings raised, so a pass over 100,000 open tasks reads what crossed a line, not every warned task again."""
    result = SweepResult()
    now = platform.clock.now()
    with platform.db.unit_of_work() as session:
        for colour, at, reached in (("yellow", HumanTask.warn_at, HumanTask.warn_at <= now),
                                    ("red", HumanTask.due_at, HumanTask.due_at < now)):
            raised = select(TaskWarning.task_id).where(TaskWarning.task_id == HumanTask.id,
                                                       TaskWarning.colour == colour).exists()
            new_ids = _insert_warnings(session, colour, and_(HumanTask.state == "ready", HumanTask.paused_at.is_(None),
                                                             reached, ~raised), at, now, worker, batch)
            outbox.enqueue_warnings(session, platform, new_ids, colour)
            result.warnings += len(new_ids)
        session.commit()
    return result


def _insert_warnings(session: Session, colour: str, condition: ColumnElement[bool], at: Any, now: datetime,
                     worker: str, batch: int) -> list[str]:
    source = (select(HumanTask.id, literal(colour), HumanTask.case_id, literal(now), literal(worker)).where(condition)
              .order_by(at, HumanTask.id).limit(batch))
    columns = ["task_id", "colour", "case_id", "raised_at", "raised_by"]
    stmt = conflict_insert(session)(TaskWarning).from_select(columns, source).on_conflict_do_nothing() \
        .returning(TaskWarning.task_id)
    return list(session.scalars(stmt))
