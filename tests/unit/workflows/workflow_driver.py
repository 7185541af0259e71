"""Drive the stock BPMN files in workflows/ through SpiffWorkflow, the way the platform does.

`Case(key, start_data(...))` starts a process from the real files: its ready human tasks (with lane,
unit, form, rule and status read from the BPMN), `complete(task, **answers)` (answers are validated
against the task's form first, as the platform does), `supervise(...)`, and `status`. Every step
round-trips the workflow through SpiffWorkflow's serializer, as the platform stores it between requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / "workflows"
FORMS = ROOT / "forms"
MAIN_PROCESSES = {"hotline_order": "hotline_order.bpmn", "petition": "petition.bpmn"}
LIBRARY = ("co_handle.bpmn", "extension.bpmn")
RULE_KEYS = {
    "petition.forward", "petition.notify", "petition.objection", "petition.handle", "petition.review_request",
    "petition.review_decision", "petition.re_review_request", "petition.re_review_decision",
    "hotline.accept", "hotline.consultation", "hotline.help", "hotline.complaint", "hotline.report",
    "hotline.suggestion", "hotline.praise", "hotline.extension", "hotline.return",
}
ROLES = {"agent", "dispatcher", "handler", "leader"}
KINDS = ("consultation", "help", "complaint", "report", "suggestion", "praise")
CENTRE = 1
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def parser_for(key: str) -> SpiffBpmnParser:
    """A parser holding one main process file and the shared call activities."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_files([str(WORKFLOWS / MAIN_PROCESSES[key])] + [str(WORKFLOWS / f) for f in LIBRARY])
    return parser


def document_order(key: str) -> dict[str, int]:
    """Position of every element id in the main file then the library (the status tie-break)."""
    order: dict[str, int] = {}
    for name in (MAIN_PROCESSES[key], *LIBRARY):
        for element in etree.parse(str(WORKFLOWS / name)).iter():
            element_id = element.get("id")
            if element_id is not None and element_id not in order:
                order[element_id] = len(order)
    return order


def load_form(filename: str) -> dict[str, Any]:
    """A form schema from forms/."""
    return json.loads((FORMS / filename).read_text(encoding="utf-8"))


def start_data(**overrides: Any) -> dict[str, Any]:
    """What the platform puts into every case's process at start (docs/bpmn-conventions.md)."""
    data = {
        "case_id": 7, "case_number": "12345-20261125-000007", "kind": "complaint", "channel": "phone",
        "category": "城乡建设/供水", "centre_unit_id": CENTRE, "lead_unit_id": None, "assisting_unit_ids": [],
        "is_repeat_terminated": False, "duplicate_of": None,
    }
    data.update(overrides)
    return data


@dataclass
class Human:
    """One ready user task, as the platform's task projection sees it."""

    id: str
    spec: str
    lane: str
    unit_id: Any
    form: str
    rule: str | None
    status: str
    data: dict[str, Any]


class Case:
    """A running case over the real BPMN files."""

    def __init__(self, key: str, data: dict[str, Any]) -> None:
        parser = parser_for(key)
        self.order = document_order(key)
        self.workflow = BpmnWorkflow(parser.get_spec(key), parser.get_subprocess_specs(key))
        self.workflow.get_next_task(state=TaskState.READY).data.update(data)
        self._run()

    def _run(self) -> None:
        self.workflow.do_engine_steps()
        self.workflow = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(self.workflow))

    @property
    def tasks(self) -> list[Human]:
        """Ready human tasks, first in document order first."""
        found = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            props = spec.extensions.get("properties", {})
            rule = props.get("deadlineRule")
            if "deadlineRuleExpression" in props:
                rule = self.workflow.script_engine.evaluate(task, props["deadlineRuleExpression"])
            found.append(Human(str(task.id), spec.bpmn_id, spec.lane or "handler",
                               task.data.get(props.get("unitVariable", "lead_unit_id")),
                               props["formJsonSchemaFilename"], rule, props["caseStatus"], task.data))
        return sorted(found, key=lambda h: self.order[h.spec])

    @property
    def ready(self) -> list[str]:
        """Spec ids of the ready human tasks, in document order."""
        return [h.spec for h in self.tasks]

    def task(self, spec: str) -> Human:
        """The (first) ready task of a spec; fails if there is none."""
        matches = [h for h in self.tasks if h.spec == spec]
        assert matches, f"{spec} is not ready; ready: {self.ready}"
        return matches[0]

    @property
    def status(self) -> str:
        """caseStatus of the first waiting task, or of the top-level end event reached."""
        if self.workflow.completed:
            ends = [t for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
                    if isinstance(t.task_spec, EndEvent) and t.workflow is self.workflow]
            return ends[-1].task_spec.extensions["properties"]["caseStatus"]
        return self.tasks[0].status

    @property
    def data(self) -> dict[str, Any]:
        """The workflow's data once finished (else the data of the first ready task)."""
        if self.workflow.completed:
            return self.workflow.data
        return self.tasks[0].data

    def complete(self, spec: str, task_id: str | None = None, **answers: Any) -> Case:
        """Complete a ready task with form answers (validated against its form first)."""
        human = self.task(spec) if task_id is None else next(h for h in self.tasks if h.id == task_id)
        Draft202012Validator(load_form(human.form)).validate(answers)
        task = next(t for t in self.workflow.get_tasks(state=TaskState.READY) if str(t.id) == human.id)
        task.data.update(answers)
        task.run()
        self._run()
        return self

    def supervise(self, **payload: Any) -> Case:
        """Send the `supervise` message (督办) into the case."""
        self.workflow.send_event(BpmnEvent(MessageEventDefinition("supervise"), payload))
        self._run()
        return self
