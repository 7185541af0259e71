"""Cases whose process failed (a script broke or ran over its limits): recorded for administrators, retried by them."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from app.errors import NotPermitted
from app.models import Case, ProcessTimer, WorkflowState
from app.services import audit, notify, process
from app.services.actors import Actor
from app.services.platform import Platform

log = logging.getLogger("huiyin.incidents")


def record(platform: Platform, actor: Actor, case_id: int, error: process.ProcessIncident) -> None:
    """In a transaction of its own (the failed step was rolled back whole): flag the case, park its timers."""
    with platform.db.unit_of_work() as session:
        state = session.get(WorkflowState, case_id)
        if state is not None:
            state.incident = f"{error.message}({error.details.get('element', '')}:{error.details.get('reason', '')})"
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


def retry(platform: Platform, actor: Actor, case_id: int) -> str:
    """Run the case's process again (timers refreshed, engine steps done); answers the new status."""
    if not actor.can("definition.deploy"):
        raise NotPermitted("只有系统管理员可以处理异常件")
    try:
        with platform.db.unit_of_work() as session:
            case = process.lock_case(session, case_id)
            notify.process_ran(session, platform, case, process.fire_timers(session, platform, case))
            audit.record(session, platform, actor, "case.incident_retried", case_id=case_id)
            session.commit()
            return case.status
    except process.ProcessIncident as e:
        record(platform, actor, case_id, e)
        raise
