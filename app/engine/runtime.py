"""Running a case's process: start, complete a task, send a message, fire due timers.

Every function takes the definition's spec JSON and (except start) the saved state JSON, plus the
service's clock `now`, and returns an `EngineRun` to store. Nothing is saved on failure: the caller
discards the workflow and rolls back. Errors are the facade's vocabulary (see `errors`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.engine.errors import EngineError, MessageNotExpected, ScriptFailed, TaskNotReady
from app.engine.forms import FormBroken, clean_form_data
from app.engine.projection import DueTimer, ReadyTask, all_tasks, case_status, due_timers, human_tasks
from app.engine.scripting import check_script_data, element_of, explain
from app.engine.serialization import SERIALIZER_VERSION, LoadedSpecs, dump_state, load_specs, load_state, new_workflow
from app.engine.validation import FORM_PROPERTY, properties_of

T = TypeVar("T")


@dataclass(frozen=True)
class EngineRun:
    """The outcome of one engine run, for the service to store in one transaction."""

    state_json: str
    serializer_version: str
    tasks: list[ReadyTask]
    timers: list[DueTimer]
    status: str
    finished: bool
    data: dict[str, Any] = field(default_factory=dict)
    submitted: dict[str, Any] = field(default_factory=dict)  # the form's answers as accepted (for the audit)


MAX_RUN_STEPS = 5_000  # automatic tasks one facade call may complete (a BPMN loop without a wait)
MAX_RUN_SECONDS = 5.0  # wall time one facade call may spend in the engine


class _Tracker:
    """Names the element being run (for errors) and stops a run that never reaches a wait state."""

    def __init__(self) -> None:
        self.element = "process"
        self.steps = 0
        self.deadline = time.monotonic() + MAX_RUN_SECONDS

    def will_complete(self, task: Any) -> None:
        self.element = element_of(task)
        self.steps += 1
        if self.steps > MAX_RUN_STEPS or time.monotonic() > self.deadline:
            raise ScriptFailed(self.element, "流程一次运行执行的步骤过多或过久（可能是没有等待点的循环），已被终止")


def _guarded(tracker: _Tracker, action: Callable[[], T]) -> T:
    """Run engine work; anything that is not already one of ours becomes ScriptFailed (incident)."""
    try:
        return action()
    except EngineError:
        raise
    except Exception as exc:  # SpiffWorkflow or guard errors outside a task's script call
        raise ScriptFailed(tracker.element, explain(exc)) from exc


def _advance(workflow: BpmnWorkflow, tracker: _Tracker) -> None:
    _guarded(tracker, lambda: workflow.do_engine_steps(will_complete_task=tracker.will_complete))
    # SpiffWorkflow's task iterator stops at depth 1000, so do_engine_steps silently leaves deeper
    # READY tasks alone; a run must not end like that (see docs/spiffworkflow-notes.md).
    for task in all_tasks(workflow):
        if task.state == TaskState.READY and not task.task_spec.manual:
            raise ScriptFailed(element_of(task), "流程任务树过深（超过 1000 层），引擎无法继续；可能是没有等待点的循环")


def _result(workflow: BpmnWorkflow, specs: LoadedSpecs, tracker: _Tracker) -> EngineRun:
    tasks = _guarded(tracker, lambda: human_tasks(workflow))
    # The newest completed task anywhere (sub-processes and call activities included) holds the latest data.
    completed = [t for t in all_tasks(workflow) if t.state == TaskState.COMPLETED]
    last = max(completed, key=lambda t: t.last_state_change) if completed else workflow.last_task
    data = dict(last.data) if last is not None else {}
    return EngineRun(
        state_json=dump_state(workflow),
        serializer_version=SERIALIZER_VERSION,
        tasks=tasks,
        timers=due_timers(workflow),
        status=case_status(workflow, specs.order),
        finished=bool(workflow.completed),
        data=data,
    )


def _check_data(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TaskNotReady(what, "数据必须是键值对")
    try:
        check_script_data(data)
    except Exception as exc:
        raise TaskNotReady(what, f"数据无法保存：{exc}") from None
    return data


def start_workflow(spec_json: str, data: dict[str, Any], now: datetime) -> EngineRun:
    """Start a new process instance with the platform's initial data and run it to its first wait."""
    specs = load_specs(spec_json)
    workflow = new_workflow(specs, now)
    start = workflow.get_next_task(state=TaskState.READY)
    initial = _check_data(dict(data), "start")
    if start is not None:
        start.data.update(initial)
    tracker = _Tracker()
    _advance(workflow, tracker)
    return _result(workflow, specs, tracker)


def _load(spec_json: str, state_json: str, now: datetime) -> tuple[LoadedSpecs, BpmnWorkflow]:
    specs = load_specs(spec_json)
    try:
        return specs, load_state(specs, state_json, now)
    except Exception as exc:  # not a saved workflow (a process that never started, a damaged row)
        raise ScriptFailed("process", f"流程状态无法读取（{type(exc).__name__}），流程可能尚未启动") from exc


def complete_task(spec_json: str, state_json: str, task_id: str, form_data: dict[str, Any], now: datetime) -> EngineRun:
    """Complete a READY user task with validated form data, then run on to the next wait."""
    specs, workflow = _load(spec_json, state_json, now)
    try:
        task = workflow.get_task_from_id(UUID(str(task_id)))
    except (ValueError, WorkflowException):
        task = None
    if task is None or not isinstance(task.task_spec, UserTask) or task.state != TaskState.READY:
        raise TaskNotReady(str(task_id))
    filename = properties_of(task.task_spec).get(FORM_PROPERTY, "")
    schema = specs.forms.get(filename)
    if schema is None:
        raise ScriptFailed(element_of(task), f"找不到表单 {filename}")
    try:
        cleaned = clean_form_data(schema, form_data)
    except FormBroken as exc:
        raise ScriptFailed(element_of(task), f"表单 {filename} 无法使用：{exc}") from None
    tracker = _Tracker()
    tracker.element = element_of(task)
    task.data.update(cleaned)
    _guarded(tracker, task.run)
    _advance(workflow, tracker)
    return dataclasses.replace(_result(workflow, specs, tracker), submitted=cleaned)


def send_message(spec_json: str, state_json: str, name: str, payload: dict[str, Any], now: datetime) -> EngineRun:
    """Deliver a BPMN message (by name, no correlation) into a running case; refuse if none waits for it."""
    specs, workflow = _load(spec_json, state_json, now)
    event = BpmnEvent(MessageEventDefinition(name), payload=_check_data(dict(payload), name))
    tracker = _Tracker()
    tracker.element = name

    def deliver() -> None:
        # A finished workflow must refuse: SpiffWorkflow would start a fresh event sub-process in it.
        if workflow.completed or workflow.event_manager.catch(event, internal=False) == 0:
            raise MessageNotExpected(name)

    _guarded(tracker, deliver)
    _advance(workflow, tracker)
    return _result(workflow, specs, tracker)


def _swap_unit(data: dict[str, Any], old: int, new: int) -> None:
    for key, value in list(data.items()):
        if key.endswith("_unit_id") and type(value) is int and value == old:
            data[key] = new
        elif key.endswith("_unit_ids") and isinstance(value, list) and old in value:
            data[key] = list(dict.fromkeys(new if type(v) is int and v == old else v for v in value))


def replace_unit(spec_json: str, state_json: str, old: int, new: int, now: datetime) -> EngineRun:
    """The instance with every unit variable (`…_unit_id`, `…_unit_ids`) naming `old` made to name `new`, in
    every task's data and the workflow's: a merged unit's open case goes on at the unit it went into, and the
    steps still to come are given there too. Nothing runs."""
    specs, workflow = _load(spec_json, state_json, now)
    for task in all_tasks(workflow):
        _swap_unit(task.data, old, new)
    for flow in (workflow, *workflow.subprocesses.values()):
        _swap_unit(flow.data, old, new)
    return _result(workflow, specs, _Tracker())


def fire_due_timers(spec_json: str, state_json: str, now: datetime) -> EngineRun:
    """Fire every timer whose time has come by `now` (SpiffWorkflow never fires them on its own)."""
    specs, workflow = _load(spec_json, state_json, now)
    tracker = _Tracker()
    _guarded(tracker, workflow.refresh_timers)
    _advance(workflow, tracker)
    return _result(workflow, specs, tracker)
