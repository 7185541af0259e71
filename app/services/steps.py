"""What each step of a case's process does, asked of the deployed definition (app.engine.describe_definition).

Nothing here copies BPMN facts: the dispatch preview, the leader's queues, the pinned 督办反馈 and the
approval rule read the description of the version a case runs on (or the newest version of each process),
so a redeployed definition changes them with no code change (docs/workflow-description.md).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import engine
from app.db import remembered
from app.models import Case, ProcessDefinition, WorkflowState
from app.services.versions import DefinitionVersion, latest_versions, version_of

LEADER_ROLE = "leader"  # the lane (role code) whose steps get a queue on /leader, beside every approval

_DESCRIPTIONS: dict[str, engine.DefinitionDescription] = {}  # checksum → description; versions never change


def _describe(session: Session, definition: DefinitionVersion) -> engine.DefinitionDescription:
    found = _DESCRIPTIONS.get(definition.checksum)
    if found is None:
        found = _DESCRIPTIONS[definition.checksum] = engine.describe_definition(definition.spec_json(session))
    return found


class CaseDefinition(NamedTuple):
    version: DefinitionVersion
    forms: dict[str, Any]  # form file → JSON Schema (forms_json alone: the BPMN and spec are large)
    state: WorkflowState  # held here, it stays in the session for `process.load_state`


def definition_of(session: Session, case_id: int) -> CaseDefinition | None:
    """The definition version a case runs on, with its forms; read once per transaction (the case page's
    task forms and its approval rule, the dispatch desk's previews share it). The case's engine state is read
    with them, so a completion that asked this first loads its state with no statement of its own
    (`process.load_state`)."""
    def read() -> CaseDefinition | None:
        row = session.execute(select(WorkflowState, ProcessDefinition.forms_json)
                              .join(ProcessDefinition, WorkflowState.definition_id == ProcessDefinition.id)
                              .where(WorkflowState.case_id == case_id)).first()
        if row is None:
            return None
        return CaseDefinition(version_of(session, row[0].definition_id), json.loads(row[1]) if row[1] else {}, row[0])
    return remembered(session, ("definition", case_id), read)


def for_case(session: Session, case: Case) -> engine.DefinitionDescription | None:
    """The description of the definition version the case runs on (None for a case without a process)."""
    found = definition_of(session, case.id)
    return _describe(session, found.version) if found else None


def newest(session: Session) -> list[engine.DefinitionDescription]:
    """The description of the newest version of every deployed process, by key."""
    return [_describe(session, version) for version in latest_versions(session).values()]


def leader_queues(session: Session) -> dict[str, str]:
    """Step → queue title for /leader: every approval step and every step of the leader lane."""
    queues: dict[str, str] = {}
    for described in newest(session):
        approvals = described.approvals
        for step in described.steps.values():
            if step.step in approvals or step.role == LEADER_ROLE:
                queues.setdefault(step.step, step.title)
    return queues


def pinned_steps(session: Session) -> frozenset[str]:
    """Steps a message creates (督办反馈 after a 督办): someone is waiting, so they top the worklist."""
    return frozenset(s for described in newest(session) for s in described.after_message)


def requesting_step(session: Session, case: Case, step: str) -> str | None:
    """For an approval step of the case's process, the step whose request it decides (else None)."""
    described = for_case(session, case)
    return described.approvals.get(step) if described else None
