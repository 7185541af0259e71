"""What the services store after a run: READY user tasks, waiting timers and the case status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine.errors import ScriptFailed
from app.engine.scripting import explain
from app.engine.timers import fire_at
from app.engine.validation import (
    DEFAULT_UNIT_VARIABLE,
    FORM_PROPERTY,
    RULE_EXPRESSION_PROPERTY,
    RULE_PROPERTY,
    STATUS_PROPERTY,
    UNIT_PROPERTY,
    element_id,
    properties_of,
)

DEFAULT_ROLE = "handler"


@dataclass(frozen=True)
class ReadyTask:
    """One READY user task: a row of the `task` projection table."""

    task_id: str
    spec_name: str
    title: str
    role: str
    unit_id: Any
    form: str
    deadline_rule: str | None
    case_status: str | None = None


@dataclass(frozen=True)
class DueTimer:
    """One waiting timer event and when it fires; the scheduler polls these rows."""

    task_id: str
    spec_name: str
    fire_at: datetime


def all_tasks(workflow: BpmnWorkflow) -> list[Any]:
    """Every task of the workflow and its sub-processes, in creation order (no depth limit)."""
    tasks = list(workflow.tasks.values())
    for subprocess in workflow.subprocesses.values():
        tasks.extend(subprocess.tasks.values())
    return tasks


def _deadline_rule(workflow: BpmnWorkflow, task: Any, props: dict[str, str]) -> str | None:
    expression = props.get(RULE_EXPRESSION_PROPERTY)
    if not expression:
        return props.get(RULE_PROPERTY)
    try:
        value = workflow.script_engine.environment.evaluate(expression, task.data)
    except Exception as exc:
        raise ScriptFailed(element_id(task.task_spec), f"时限规则表达式出错：{explain(exc)}") from exc
    return None if value is None else str(value)


def human_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    """Every READY user task, in creation order."""
    rows = []
    for task in all_tasks(workflow):
        spec = task.task_spec
        if task.state != TaskState.READY or not isinstance(spec, UserTask):
            continue
        props = properties_of(spec)
        rows.append(
            ReadyTask(
                task_id=str(task.id),
                spec_name=element_id(spec),
                title=spec.bpmn_name or spec.name,
                role=spec.lane or DEFAULT_ROLE,
                unit_id=task.data.get(props.get(UNIT_PROPERTY) or DEFAULT_UNIT_VARIABLE),
                form=props.get(FORM_PROPERTY, ""),
                deadline_rule=_deadline_rule(workflow, task, props),
                case_status=props.get(STATUS_PROPERTY),
            )
        )
    return rows


def due_timers(workflow: BpmnWorkflow) -> list[DueTimer]:
    """Every waiting timer event (boundary, intermediate, event sub-process start) with its fire time."""
    rows = []
    for task in list(workflow.event_manager.tasks.values()):
        if not task.has_state(TaskState.WAITING):
            continue
        when = fire_at(task)
        if when is not None:
            rows.append(DueTimer(str(task.id), task.task_spec.name, when))
    return sorted(rows, key=lambda r: r.fire_at)


def case_status(workflow: BpmnWorkflow, order: dict[str, int]) -> str:
    """`caseStatus` of the waiting tasks (first in document order) or of the end event reached; else ''."""
    if not workflow.completed:
        waiting = [
            t
            for t in all_tasks(workflow)
            if t.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED)
            and properties_of(t.task_spec).get(STATUS_PROPERTY)
        ]
        if waiting:
            first = min(waiting, key=lambda t: order.get(element_id(t.task_spec), len(order)))
            return properties_of(first.task_spec)[STATUS_PROPERTY]
    ended = [
        t
        for t in all_tasks(workflow)
        if t.state == TaskState.COMPLETED
        and isinstance(t.task_spec, EndEvent)
        and properties_of(t.task_spec).get(STATUS_PROPERTY)
    ]
    if ended:
        top = [t for t in ended if t.workflow is workflow] or ended
        last = max(top, key=lambda t: t.last_state_change)
        return properties_of(last.task_spec)[STATUS_PROPERTY]
    return ""
