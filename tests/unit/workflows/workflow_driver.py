"""Drive the stock BPMN files in workflows/ through the engine facade (app.engine), as the services do.

`Case(key, start_data(...))` deploys the real files (main file + shared call activities + forms) and
starts a case; `tasks` are the facade's HumanTask rows (sorted in document order, with the task data
read back from the saved state for assertions), `complete(spec, **answers)` and `supervise(...)` run the
engine, `status` is the facade's case status. Every step goes through the saved state JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from app.domain.deadlines import SEED_RULES
from app.domain.statuses import STOCK_LABELS
from app.engine import CompiledDefinition, EngineRun, complete_task, deploy_definition, send_message, start_workflow
from app.engine.serialization import load_specs, load_state

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / "workflows"
FORMS = ROOT / "forms"
MAIN_PROCESSES = {"hotline_order": "hotline_order.bpmn", "petition": "petition.bpmn"}
LIBRARY = ("co_handle.bpmn", "extension.bpmn")
RULE_KEYS = {rule.key for rule in SEED_RULES}  # the deploy check accepts only seeded rule keys
ROLES = {"agent", "dispatcher", "handler", "leader"}
KINDS = ("consultation", "help", "complaint", "report", "suggestion", "praise")
CENTRE = 1
NOW = datetime(2026, 11, 25, 9, 0, 0)


def parser_for(key: str) -> SpiffBpmnParser:
    """A plain SpiffWorkflow parser holding one main process file and the shared call activities."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_files([str(WORKFLOWS / MAIN_PROCESSES[key])] + [str(WORKFLOWS / f) for f in LIBRARY])
    return parser


def load_form(filename: str) -> dict[str, Any]:
    """A form schema from forms/."""
    return json.loads((FORMS / filename).read_text(encoding="utf-8"))


@cache
def deployed(key: str) -> CompiledDefinition:
    """The stock definition deployed through the facade (with every check it makes)."""
    return deploy_definition(
        (WORKFLOWS / MAIN_PROCESSES[key]).read_bytes(),
        {p.name: p.read_bytes() for p in FORMS.glob("*.json")},
        library={name: (WORKFLOWS / name).read_bytes() for name in LIBRARY},
        rule_keys=RULE_KEYS,
        roles=ROLES,
        start_variables={**dict.fromkeys(start_data()), "kind": set(KINDS)},
        statuses=set(STOCK_LABELS),
    )


def start_data(**overrides: Any) -> dict[str, Any]:
    """What the platform puts into every case's process at start (docs/bpmn-conventions.md)."""
    data = {
        "case_id": 7, "case_number": "12345-20261125-000007", "kind": "complaint", "channel": "phone",
        "category": "城乡建设/供水", "centre_unit_id": CENTRE, "lead_unit_id": None, "assisting_unit_ids": [],
        "duplicate_of": None, "direct_reply": None,
    }
    data.update(overrides)
    return data


@dataclass
class Human:
    """One ready user task: the facade's projection row plus its task data (for assertions)."""

    id: str
    spec: str
    lane: str
    unit_id: Any
    form: str
    rule: str | None
    status: str | None
    data: dict[str, Any]


class Case:
    """A running case over the real BPMN files, driven through the engine facade."""

    def __init__(self, key: str, data: dict[str, Any]) -> None:
        self.spec_json = deployed(key).spec_json
        self.order: dict[str, int] = json.loads(self.spec_json)["order"]
        self.run: EngineRun = start_workflow(self.spec_json, data, NOW)

    @property
    def tasks(self) -> list[Human]:
        """Ready human tasks, first in document order first."""
        workflow = load_state(load_specs(self.spec_json), self.run.state_json, NOW)
        found = []
        for row in self.run.tasks:
            task = workflow.get_task_from_id(UUID(row.task_id))
            spec = task.task_spec.bpmn_id  # a multi-instance child's spec name is "<id> [child]"
            found.append(Human(row.task_id, spec, row.role, row.unit_id, row.form, row.deadline_rule,
                               row.case_status, dict(task.data)))
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
    def finished(self) -> bool:
        return self.run.finished

    @property
    def status(self) -> str:
        """The facade's case status: caseStatus of the first waiting task or of the end event reached."""
        return self.run.status

    @property
    def data(self) -> dict[str, Any]:
        """The process data after the last run."""
        return self.run.data

    def complete(self, spec: str, task_id: str | None = None, **answers: Any) -> Case:
        """Complete a ready task (the first of its spec unless `task_id` is given) with form answers."""
        human = self.task(spec) if task_id is None else next(h for h in self.tasks if h.id == task_id)
        self.run = complete_task(self.spec_json, self.run.state_json, human.id, answers, NOW)
        return self

    def supervise(self, **payload: Any) -> Case:
        """Send the `supervise` message (督办) into the case."""
        self.run = send_message(self.spec_json, self.run.state_json, "supervise", payload, NOW)
        return self
