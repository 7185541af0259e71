"""Which cases a user may see: those where their unit, or a unit below it, is involved."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.orm import aliased

from app.domain.roles import CASE_ROLES
from app.models import Case, HumanTask, Unit, case_assisting_unit
from app.services.actors import Actor


def visible_cases(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on Case: the registering, lead or an assisting unit, or the unit of any of its tasks
    (now or before), inside the actor's subtree."""
    if not actor.roles & CASE_ROLES or not actor.unit_path:
        return false()
    subtree = select(Unit.id).where(Unit.path.startswith(actor.unit_path, autoescape=True))
    task = aliased(HumanTask)  # callers may already select from human_task
    return or_(
        Case.registering_unit_id.in_(subtree),
        Case.lead_unit_id.in_(subtree),
        exists().where(case_assisting_unit.c.case_id == Case.id, case_assisting_unit.c.unit_id.in_(subtree)),
        exists().where(task.case_id == Case.id, task.unit_id.in_(subtree)),  # e.g. a 复查 unit
    )
