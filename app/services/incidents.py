"""Cases whose process failed (a script broke or ran over its limits): recorded for administrators, retried by them.

A process that fails at its very start never loses the registration: the case is kept without a running
process (its state row holds the start data, marked UNSTARTED) and listed as an incident; a retry starts it
on the newest version of its definition — the fixed one an administrator deployed meanwhile.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotPermitted
from app.models import Case, ProcessDefinition, ProcessTimer, WorkflowState
from app.services import audit, notify, process, versions
from app.services.actors import SYSTEM, Actor
from app.services.platform import Platform

log = logging.getLogger("huiyin.incidents")
UNSTARTED = process.UNSTARTED


def _describe(error: process.ProcessIncident) -> str:
    return f"{error.message}({error.details.get('element', '')}:{error.details.get('reason', '')})"


def start_process(session: Session, platform: Platform, case: Case, definition: versions.DefinitionVersion,
                  data: dict[str, Any]) -> process.RunChange | None:
    """Start the case's process; if it fails, keep the case as an incident (audited, in the caller's
    transaction) — answers None then. An appeal is never lost to a broken definition. No savepoint is
    needed: a failing start has stored nothing (`process.start`)."""
    try:
        return process.start(session, platform, case, definition, data)
    except process.ProcessIncident as e:
        session.add(WorkflowState(case_id=case.id, definition_id=definition.id, serializer_version=UNSTARTED,
                                  state_json=json.dumps(data, ensure_ascii=False, default=str), revision=0,
                                  incident=_describe(e), updated_at=platform.clock.now()))
        audit.record(session, platform, SYSTEM, "case.incident", case_id=case.id,
                     detail={**e.details, "stage": "start"})
        log.warning("case %s could not start its process, kept as an incident: %s", case.id, e.details)
        return None


def record(platform: Platform, actor: Actor, case_id: int, error: process.ProcessIncident) -> None:
    """In a transaction of its own (the failed step was rolled back whole): flag the case, park its timers."""
    with platform.db.unit_of_work() as session:
        state = session.get(WorkflowState, case_id)
        if state is not None:
            state.incident = _describe(error)
        for timer in session.scalars(select(ProcessTimer).where(ProcessTimer.case_id == case_id)):
            session.delete(timer)
        audit.record(session, platform, actor, "case.incident", case_id=case_id, detail=dict(error.details))
        session.commit()
    log.warning("case %s went to incident: %s", case_id, error.details)


def list_incidents(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """Every case waiting for an administrator, with what went wrong."""
    if not actor.can("definition.deploy"):
        raise NotPermitted("只有系统管理员可以处理异常件")
    with platform.db.reading() as session:
        rows = session.execute(select(Case.id, Case.number, WorkflowState.incident, WorkflowState.updated_at)
                               .join(WorkflowState, WorkflowState.case_id == Case.id)
                               .where(WorkflowState.incident.is_not(None)).order_by(Case.id)).all()
        return [{"case_id": i, "number": n, "incident": inc, "since": at.isoformat()} for i, n, inc, at in rows]


def _run_again(session: Session, platform: Platform, case: Case) -> process.RunChange:
    """Start a never-started process on its definition's newest version, or run a started one on."""
    state = session.get(WorkflowState, case.id)
    if state is None or state.serializer_version != UNSTARTED:
        return process.run_due_timers(session, platform, case)
    data = json.loads(state.state_json)
    key = session.get_one(ProcessDefinition, state.definition_id).key
    session.delete(state)
    session.flush()
    return process.start(session, platform, case, versions.latest_definition(session, key), data)


def retry(platform: Platform, actor: Actor, case_id: int) -> str:
    """Run the case's process again (started if it never did; timers refreshed, engine steps done);
    answers the new status."""
    if not actor.can("definition.deploy"):
        raise NotPermitted("只有系统管理员可以处理异常件")
    try:
        with platform.db.unit_of_work() as session:
            case = process.lock_case(session, case_id)
            notify.process_ran(session, platform, case, _run_again(session, platform, case))
            audit.record(session, platform, actor, "case.incident_retried", case_id=case_id)
            session.commit()
            return case.status
    except process.ProcessIncident as e:
        record(platform, actor, case_id, e)
        raise
