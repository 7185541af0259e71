"""What a deployed definition says its steps are: read from the spec JSON, never copied into Python.

`describe_definition(spec_json)` gives a `DefinitionDescription`: every user task (`StepDescription`: form,
lane = role, unit variable, deadline rule or rule expression, `caseStatus`, the task it approves), the
statuses the process may show, and a plain graph of the flow, so services can ask:

- `path_after(step, variable, value)`: the user tasks a choice leads to (e.g. the steps after 派单 for
  `dispatch_mode == 'transfer'`), following sequence flows through gateways whose conditions test only
  that variable; the walk stops where the path depends on anything else (a later decision, a message).
- `after_message`: the steps a message creates (e.g. 督办反馈 after a 督办) — someone is waiting on them.
- `rule_key(step, data)`: the deadline rule a step would take given some process data (None if unknown).
- `approvals`: steps that approve what an earlier step asked (`requestedBy` names that step).

The description is plain data: no SpiffWorkflow object escapes this module (docs/engine-facade.md).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask

from app.engine.projection import DEFAULT_ROLE, DEFAULT_UNIT_VARIABLE
from app.engine.scripting import RestrictedEnvironment
from app.engine.serialization import load_specs
from app.engine.validation import (
    FORM_PROPERTY,
    RULE_EXPRESSION_PROPERTY,
    RULE_PROPERTY,
    STATUS_PROPERTY,
    UNIT_PROPERTY,
    element_id,
    properties_of,
)

REQUESTED_BY_PROPERTY = "requestedBy"  # on an approval user task: the id of the user task that asked


@dataclass(frozen=True)
class StepDescription:
    """One user task as the definition declares it."""

    step: str  # the BPMN id (ReadyTask.spec_name)
    title: str
    process: str  # id of the process (or sub-process) holding it
    role: str
    unit_variable: str
    form: str
    form_schema: dict[str, Any]
    deadline_rule: str | None
    deadline_rule_expression: str | None
    status: str | None
    requested_by: str | None


@dataclass(frozen=True)
class _Node:
    kind: str  # user, exclusive, inclusive, parallel, call, end, stop, pass
    outputs: tuple[str, ...] = ()
    conditions: tuple[tuple[str | None, str], ...] = ()  # gateways: (expression, target); None = no condition
    default: str | None = None
    calls: str | None = None  # sub-process / call activity: the process it runs
    message: bool = False  # a catching event that waits for a message
    step: str | None = None  # a user task (or a loop / multi-instance of one): its BPMN id


@dataclass(frozen=True)
class DefinitionDescription:
    """The user tasks, statuses and flow of one deployed definition version."""

    key: str
    name: str
    steps: dict[str, StepDescription]  # document order
    statuses: tuple[str, ...]  # every caseStatus the process may show, in document order
    forms: dict[str, dict[str, Any]]
    _graph: dict[str, dict[str, _Node]] = field(repr=False)  # process id → task name → node
    _starts: dict[str, tuple[str, ...]] = field(repr=False)

    @property
    def approvals(self) -> dict[str, str]:
        """Approval step → the step whose request it decides."""
        return {s.step: s.requested_by for s in self.steps.values() if s.requested_by}

    @property
    def after_message(self) -> tuple[str, ...]:
        """The user tasks a caught message leads to (first user task on each branch after the event)."""
        found: list[str] = []
        for process, nodes in self._graph.items():
            for node in nodes.values():
                if node.message:
                    self._walk([(process, o, ()) for o in node.outputs], None, None, found, first_only=True)
        return tuple(dict.fromkeys(found))

    def path_after(self, step: str, variable: str, value: Any) -> list[StepDescription]:
        """The user tasks reached after `step` when `variable` is `value`, in the order the walk meets them."""
        process = self.steps[step].process if step in self.steps else None
        if process is None:
            return []
        found: list[str] = []
        self._walk([(process, o, ()) for o in self._graph[process][step].outputs], variable, value, found)
        return [self.steps[s] for s in found]

    def _walk(self, pending: list[tuple[str, str, tuple[tuple[str, str], ...]]], variable: str | None,
              value: Any, found: list[str], *, first_only: bool = False) -> None:
        """Depth first over (process, task, return stack); a sub-process's end returns to its caller."""
        seen: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        while pending:
            frame = pending.pop(0)
            if frame in seen:
                continue
            seen.add(frame)
            process, name, stack = frame
            node = self._graph[process].get(name)
            if node is None or node.kind == "stop":
                continue
            if node.kind == "user":
                found.append(node.step or name)
                if first_only:
                    continue
            if node.kind == "end":
                if stack:
                    caller_process, caller = stack[-1]
                    pending[:0] = [(caller_process, o, stack[:-1])
                                   for o in self._graph[caller_process][caller].outputs]
                continue
            if node.kind == "call" and node.calls in self._graph:
                pending[:0] = [(node.calls, s, (*stack, (process, name))) for s in self._starts[node.calls]]
                continue
            targets = _choose(node, variable, value)
            pending[:0] = [(process, t, stack) for t in targets]

    def rule_key(self, step: str, data: dict[str, Any]) -> str | None:
        """The deadline rule key `step` takes with `data` (its literal rule, or its expression evaluated)."""
        described = self.steps[step]
        if not described.deadline_rule_expression:
            return described.deadline_rule
        try:
            value = _ENVIRONMENT.evaluate(described.deadline_rule_expression, dict(data))
        except Exception:  # a name the data does not hold yet: not knowable before the run
            return None
        return None if value is None else str(value)


_ENVIRONMENT = RestrictedEnvironment(datetime(2000, 1, 1))  # expressions read data only, never the clock


def _choose(node: _Node, variable: str | None, value: Any) -> tuple[str, ...]:
    """Where the walk goes on from a node; () where the path depends on something not known here."""
    if node.kind not in ("exclusive", "inclusive"):
        return node.outputs
    taken: list[str] = []
    for expression, target in node.conditions:
        if expression is None:
            continue
        decided = _decide(expression, variable, value)
        if decided is None:
            return ()
        if decided:
            taken.append(target)
            if node.kind == "exclusive":
                break
    if taken:
        return tuple(taken)
    return (node.default,) if node.default else ()


def _decide(expression: str, variable: str | None, value: Any) -> bool | None:
    """A condition that reads only `variable`, evaluated; None for any other condition."""
    try:
        names = {n.id for n in ast.walk(ast.parse(expression, mode="eval")) if isinstance(n, ast.Name)}
    except SyntaxError:
        return None
    if variable is None or names != {variable}:
        return None
    try:
        return bool(_ENVIRONMENT.evaluate(expression, {variable: value}))
    except Exception:
        return None


def _node(spec: Any, task_specs: dict[str, Any]) -> _Node:
    outputs = tuple(o.name for o in spec.outputs)
    if isinstance(spec, LoopTask) and isinstance(task_specs.get(spec.task_spec), UserTask):
        return _Node("user", outputs, step=element_id(task_specs[spec.task_spec]))
    if isinstance(spec, UserTask):
        return _Node("user", outputs, step=element_id(spec))
    if isinstance(spec, (ExclusiveGateway, InclusiveGateway)):
        conditions = tuple((c.args[0] if c is not None and getattr(c, "args", None) else None, t)
                           for c, t in spec.cond_task_specs)
        kind = "exclusive" if isinstance(spec, ExclusiveGateway) else "inclusive"
        return _Node(kind, outputs, conditions, getattr(spec, "default_task_spec", None))
    if isinstance(spec, ParallelGateway):
        return _Node("parallel", outputs)
    if isinstance(spec, SubWorkflowTask):
        return _Node("call", outputs, calls=spec.spec)
    if isinstance(spec, EndEvent):
        return _Node("end")
    if isinstance(spec, EventBasedGateway) or (isinstance(spec, CatchingEvent) and not isinstance(spec, StartEvent)):
        message = isinstance(getattr(spec, "event_definition", None), MessageEventDefinition)
        return _Node("stop", outputs, message=message)  # waits for something outside the path
    return _Node("pass", outputs)


def _step(spec: Any, process: str, forms: dict[str, dict[str, Any]]) -> StepDescription:
    props = properties_of(spec)
    form = props.get(FORM_PROPERTY, "")
    return StepDescription(
        step=element_id(spec), title=spec.bpmn_name or spec.name, process=process, role=spec.lane or DEFAULT_ROLE,
        unit_variable=props.get(UNIT_PROPERTY) or DEFAULT_UNIT_VARIABLE, form=form,
        form_schema=forms.get(form, {}), deadline_rule=props.get(RULE_PROPERTY),
        deadline_rule_expression=props.get(RULE_EXPRESSION_PROPERTY), status=props.get(STATUS_PROPERTY),
        requested_by=props.get(REQUESTED_BY_PROPERTY))


@lru_cache(maxsize=64)
def describe_definition(spec_json: str) -> DefinitionDescription:
    """The description of a deployed definition version (its spec JSON as stored)."""
    loaded = load_specs(spec_json)
    processes = {loaded.spec.name: loaded.spec, **loaded.subprocess_specs}
    order = loaded.order
    graph: dict[str, dict[str, _Node]] = {}
    starts: dict[str, tuple[str, ...]] = {}
    steps: list[StepDescription] = []
    statuses: list[tuple[int, str]] = []
    for process_id, process in processes.items():
        graph[process_id] = {name: _node(spec, process.task_specs)
                            for name, spec in process.task_specs.items()}
        starts[process_id] = tuple(o.name for o in process.start.outputs)
        for spec in process.task_specs.values():
            position = order.get(element_id(spec), len(order))
            if isinstance(spec, UserTask):
                steps.append(_step(spec, process_id, loaded.forms))
            status = properties_of(spec).get(STATUS_PROPERTY)
            if status:
                statuses.append((position, status))
    steps.sort(key=lambda s: order.get(s.step, len(order)))
    return DefinitionDescription(
        key=loaded.spec.name, name=loaded.spec.description or loaded.spec.name,
        steps={s.step: s for s in steps}, statuses=tuple(dict.fromkeys(s for _, s in sorted(statuses))),
        forms=loaded.forms, _graph=graph, _starts=starts)
