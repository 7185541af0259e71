"""试运行 (dry run): run a compiled draft in memory from its start — no case, nothing saved.

Each user task the run reaches is completed with the administrator's answers for its spec name (a dict
used every time it comes, or a list used in turn) on top of the form's defaults (`form_defaults`),
following gateways as a real case would. Timers, when asked, fire in order of their time on a simulated
clock. The run stops at the end, where it waits on something outside (a message, a timer not fired,
a task without answers left), at the first failing script, condition or form, or after `max_steps`
user tasks (a loop), never hanging. The service turns rule keys into due dates on the real calendar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.engine.errors import FormInvalid, ScriptFailed
from app.engine.forms import FormBroken, clean_form_data
from app.engine.projection import ReadyTask, all_tasks, case_status, due_timers, human_tasks
from app.engine.runtime import _advance, _check_data, _Tracker
from app.engine.scripting import element_of
from app.engine.serialization import load_specs, new_workflow
from app.engine.validation import FORM_PROPERTY, properties_of

MAX_DRY_STEPS = 200  # user tasks one dry run may complete before it is called a loop
MAX_DRY_TIMERS = 50
FILLER = "（试运行）"


@dataclass(frozen=True)
class DryStep:
    """A user task the run reached (kind "user"), or a timer it fired (kind "timer")."""

    kind: str
    task: str  # element id
    title: str
    lane: str
    unit_id: Any
    rule: str | None
    status: str | None  # the case status while it waits here
    at: datetime  # when it was reached, on the simulated clock
    answers: dict[str, Any] = field(default_factory=dict)
    done: bool = True  # False: the run stopped with it waiting
    timers: tuple[tuple[str, datetime], ...] = ()  # timers waiting when it was reached (e.g. a boundary 催办)


@dataclass(frozen=True)
class DryRun:
    steps: list[DryStep]
    path: list[str]  # element ids completed, in order (for the diagram)
    stopped_at: dict[str, Any]  # {"reason": end|message|timer|error|max_steps|stop_at, "elements": [...]}
    errors: list[dict[str, Any]]  # {"element", "message"} (+ "fields" for a form)
    data: dict[str, Any]


class _PathTracker(_Tracker):
    """The runtime's tracker, remembering every element completed."""

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []

    def will_complete(self, task: Any) -> None:
        super().will_complete(task)
        spec = task.task_spec
        if getattr(spec, "bpmn_id", None):
            self.path.append(str(spec.bpmn_id))


def _value(name: str, prop: dict[str, Any], unit_id: Any) -> Any:
    """A plausible answer for one field: its default, first option, or a filler of its type."""
    if "default" in prop:
        return prop["default"]
    if "const" in prop:
        return prop["const"]
    options = [o["const"] for o in prop.get("oneOf") or prop.get("anyOf") or [] if isinstance(o, dict) and "const" in o]
    if options or prop.get("enum"):
        return (options or prop["enum"])[0]
    if name.endswith("_unit_ids"):
        return [] if unit_id is None else [unit_id]
    if name.endswith("_unit_id"):
        return unit_id
    kind = prop.get("type")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return prop.get("minimum", 1)
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return FILLER + "." * max(0, int(prop.get("minLength", 0)) - len(FILLER))


def form_defaults(schema: dict[str, Any], unit_id: Any = None, fields: set[str] | None = None) -> dict[str, Any]:
    """The answers a dry run gives where the administrator gave none: every field with a `default`, and
    each required field (or each of `fields`) a plausible value; unit fields take `unit_id`."""
    properties = schema.get("properties") or {}
    wanted = set(schema.get("required") or []) if fields is None else fields
    return {name: _value(name, prop if isinstance(prop, dict) else {}, unit_id) for name, prop in properties.items()
            if name in wanted or (isinstance(prop, dict) and "default" in prop)}


def _answer_for(answers: dict[str, Any], spec: str, count: int) -> dict[str, Any]:
    given = answers.get(spec)
    if isinstance(given, list):
        given = given[min(count, len(given) - 1)] if given else {}
    return dict(given) if isinstance(given, dict) else {}


def _fill(schema: dict[str, Any], given: dict[str, Any], unit_id: Any, current: dict[str, Any]) -> dict[str, Any]:
    """Defaults under the answers; a field the process already holds keeps its value (as the page shows it
    filled in: 受理 keeps the case's kind); fields a conditional `required` still asks for filled once more."""
    held = {k: v for k, v in current.items() if k in (schema.get("properties") or {}) and v is not None}
    data = {**form_defaults(schema, unit_id), **held, **given}
    try:
        return clean_form_data(schema, data)
    except FormInvalid as exc:
        missing = {f for f, message in exc.errors.items() if f not in given and message.endswith("为必填项")}
        if not missing:
            raise
        return clean_form_data(schema, {**form_defaults(schema, unit_id, missing), **data})


def _set_clock(workflow: Any, at: datetime) -> None:
    workflow.script_engine.now = at
    workflow.script_engine.environment.now = at


def _waiting(workflow: Any) -> tuple[str, list[str]]:
    """Why a run with no ready user task stopped: the end, or what it waits on."""
    if workflow.completed:
        return "end", []
    messages, timers = [], []
    for task in all_tasks(workflow):
        if task.state != TaskState.WAITING:
            continue
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition):
            messages.append(element_of(task))
        elif definition is not None:
            timers.append(element_of(task))
    if timers:
        return "timer", timers + messages
    return ("message" if messages else "waiting"), messages


def _step(task: ReadyTask, status: str, at: datetime, answers: dict[str, Any], done: bool,
          workflow: Any) -> DryStep:
    timers = tuple((t.spec_name, t.fire_at) for t in due_timers(workflow))
    return DryStep("user", task.spec_name, task.title, task.role, task.unit_id, task.deadline_rule, status or None,
                   at, answers, done, timers)


def dry_run(spec_json: str, start_data: dict[str, Any], answers: dict[str, Any], now: datetime, *,
            unit_id: Any = None, fire_timers: bool = False, stop_at: str | None = None,
            max_steps: int = MAX_DRY_STEPS) -> DryRun:
    """Run a compiled definition in memory; see the module docstring."""
    specs = load_specs(spec_json)
    workflow = new_workflow(specs, now)
    start = workflow.get_next_task(state=TaskState.READY)
    if start is not None:
        start.data.update(_check_data(dict(start_data), "start"))
    tracker = _PathTracker()
    steps: list[DryStep] = []
    errors: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    clock, fired = now, 0

    def stop(reason: str, elements: list[str]) -> DryRun:
        last = [t for t in all_tasks(workflow) if t.state == TaskState.COMPLETED]
        data = dict(max(last, key=lambda t: t.last_state_change).data) if last else {}
        return DryRun(steps, tracker.path, {"reason": reason, "elements": elements}, errors, data)

    try:
        _advance(workflow, tracker)
        while True:
            ready = human_tasks(workflow)
            if not ready:
                timers = due_timers(workflow)
                if fire_timers and timers and fired < MAX_DRY_TIMERS:
                    timer = timers[0]
                    clock = max(clock, timer.fire_at) + timedelta(seconds=1)
                    _set_clock(workflow, clock)
                    tracker.element = timer.spec_name
                    workflow.refresh_timers()
                    fired += 1
                    steps.append(DryStep("timer", timer.spec_name, timer.spec_name, "", None, None,
                                         case_status(workflow, specs.order) or None, timer.fire_at))
                    _advance(workflow, tracker)
                    continue
                return stop(*_waiting(workflow))
            current = ready[0]
            status = case_status(workflow, specs.order)
            if stop_at is not None and current.spec_name == stop_at:
                steps.extend(_step(t, status, clock, {}, False, workflow) for t in ready)
                return stop("stop_at", [t.spec_name for t in ready])
            if sum(1 for s in steps if s.kind == "user") >= max_steps:
                errors.append({"element": current.spec_name,
                               "message": f"试运行超过 {max_steps} 个用户任务仍未结束，可能是没有出口的循环"})
                return stop("max_steps", [current.spec_name])
            task = workflow.get_task_from_id(UUID(current.task_id))
            schema = specs.forms.get(properties_of(task.task_spec).get(FORM_PROPERTY, ""), {})
            given = _answer_for(answers, current.spec_name, counts.get(current.spec_name, 0))
            counts[current.spec_name] = counts.get(current.spec_name, 0) + 1
            try:
                cleaned = _fill(schema, given, unit_id, task.data)
            except FormInvalid as exc:
                steps.append(_step(current, status, clock, given, False, workflow))
                errors.append({"element": current.spec_name, "message": "表单答案不符合表单要求",
                               "fields": exc.errors})
                return stop("error", [current.spec_name])
            except FormBroken as exc:
                steps.append(_step(current, status, clock, given, False, workflow))
                errors.append({"element": current.spec_name, "message": f"表单无法使用：{exc}"})
                return stop("error", [current.spec_name])
            steps.append(_step(current, status, clock, cleaned, True, workflow))
            tracker.element = current.spec_name
            tracker.path.append(current.spec_name)
            task.data.update(cleaned)
            task.run()
            _advance(workflow, tracker)
    except ScriptFailed as exc:
        errors.append({"element": exc.element_id, "message": exc.message})
        return stop("error", [exc.element_id])
    except Exception as exc:  # SpiffWorkflow's own errors while running a task
        errors.append({"element": tracker.element, "message": f"流程运行出错：{exc}"})
        return stop("error", [tracker.element])

