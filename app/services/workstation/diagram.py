"""The case's process diagram: its BPMN version with lanes in Chinese, and which elements are current."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from app.domain.roles import ROLES
from app.errors import NotFound
from app.models import HumanTask, ProcessDefinition, WorkflowState
from app.services import scope
from app.services.actors import Actor
from app.services.platform import Platform

LANE_NAME = re.compile(r'(<(?:\w+:)?lane\b[^>]*?\bname=")([^"]*)(")')


def case_diagram(platform: Platform, actor: Actor, case_id: int) -> dict[str, Any]:
    """The case's BPMN (the version it runs on) and the diagram elements of its current steps."""
    with platform.db.reading() as session:
        row = scope.find_case(session, actor, case_id)
        state = session.get(WorkflowState, row.id)
        definition = session.get(ProcessDefinition, state.definition_id) if state else None
        if definition is None:
            raise NotFound("该诉求件没有流程")
        ready = session.scalars(select(HumanTask.spec_name).where(HumanTask.case_id == row.id,
                                                                  HumanTask.state == "ready")).all()
        xml = _lanes_in_chinese(definition.bpmn_xml)
        shown = {_shown_element(definition.spec_json, xml, name) for name in ready}
        active = sorted(e for e in shown if e is not None)
        return {"xml": xml, "active": active, "has_di": "BPMNShape" in xml, "name": definition.name,
                "version": definition.version}


def _lanes_in_chinese(xml: str) -> str:
    """Lanes are named by role code (the BPMN convention); readers see the role's Chinese name."""
    return LANE_NAME.sub(lambda m: m.group(1) + ROLES.get(m.group(2), m.group(2)) + m.group(3), xml)


def _shown_element(spec_json: str, xml: str, name: str) -> str | None:
    """The element to highlight for a task: itself, or the call activity that runs the process holding it.

    Reads the engine's serialized spec (spec + subprocess_specs, each with task_specs) only as JSON."""
    spec = json.loads(spec_json)
    processes = {"": spec.get("spec", {}), **spec.get("subprocess_specs", {})}
    caller = {t["spec"]: n for p in processes.values() for n, t in p.get("task_specs", {}).items() if t.get("spec")}
    holder = {n: pid for pid, p in processes.items() for n in p.get("task_specs", {})}
    current: str | None = name
    for _ in range(10):
        if current is None or f'bpmnElement="{current}"' in xml:
            return current
        current = caller.get(holder.get(current, ""))
    return None
