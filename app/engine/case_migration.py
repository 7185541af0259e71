"""Moving a running case to another version of its definition, with SpiffWorkflow's diff utilities
(`SpiffWorkflow.bpmn.util.diff`, 3.2: `SpecDiff`, `WorkflowDiff`, `migrate_workflow`).

A case may move when every task it has completed or waits at (and every one predicted that the move
would not predict afresh) still exists in the new version, unchanged except for where it leads
(`inputs`, `outputs`, gateway conditions' targets), and every path it has taken still exists (a step
already done whose next step the new version changed cannot move: its history would not fit). Then its
tasks are re-pointed at the new specs, the ready and waiting ones reset and re-predicted (so a case
waiting at 签收 takes the new step after 签收), waiting timers keep the time they were set to, and the
run goes on to its next wait. Anything else refuses with the reason, naming the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from app.engine.definition_diff import ATTRIBUTE_WORDS, FLOW_ONLY
from app.engine.projection import all_tasks
from app.engine.runtime import EngineRun, _advance, _load, _result, _Tracker
from app.engine.serialization import SERIALIZER, LoadedSpecs, load_specs

STANDING = TaskState.READY | TaskState.WAITING | TaskState.STARTED  # where a case stands
KEPT = STANDING | TaskState.COMPLETED | TaskState.PREDICTED_MASK


@dataclass(frozen=True)
class MigrationCheck:
    """Whether a case can move, why not (Chinese; empty when it can), and where it stands (element ids)."""

    can_migrate: bool
    reason: str
    standing: tuple[str, ...]


def _label(task: Any) -> str:
    spec = task.task_spec
    name = getattr(spec, "bpmn_name", None)
    return f"{name}（{spec.bpmn_id}）" if name else str(getattr(spec, "bpmn_id", None) or spec.name)


def _reset(task: Any) -> bool:
    """A predicted task under a ready or waiting one: the move drops it and predicts afresh."""
    parent = task.parent
    while parent is not None:
        if parent.has_state(TaskState.READY | TaskState.WAITING):
            return True
        parent = parent.parent
    return False


def _problems(workflow: Any, spec_diff: SpecDiff, diff: WorkflowDiff) -> list[str]:
    """Why this (sub-)workflow cannot move: a step it took or waits at removed or changed, or a path it
    took that the new version no longer has."""
    problems = []
    removed = {t.id for t in diff.removed}
    for task in workflow.get_tasks(skip_subprocesses=True):
        if not task.has_state(KEPT) or not getattr(task.task_spec, "bpmn_id", None):
            continue
        predicted = task.has_state(TaskState.PREDICTED_MASK)
        if predicted and _reset(task):
            continue
        if task.id in removed:
            problems.append(f"步骤 {_label(task)} 在新版本中已删除")
            continue
        changes = [a for a in spec_diff.changed.get(task.task_spec, []) if a not in FLOW_ONLY]
        if changes and not predicted:
            words = "、".join(sorted({ATTRIBUTE_WORDS.get(a, a) for a in changes}))
            problems.append(f"步骤 {_label(task)} 在新版本中已改变（{words}）")
        if task.state == TaskState.COMPLETED:
            new_spec = spec_diff.alignment.get(task.task_spec)
            for child in task.children:
                if not child.has_state(TaskState.COMPLETED | STANDING):
                    continue
                target = spec_diff.alignment.get(child.task_spec)
                if new_spec is not None and (target is None or target not in new_spec.outputs):
                    problems.append(f"已完成的步骤 {_label(task)} 之后走过的路径在新版本中已不存在"
                                    f"（新版本改变了它之后的流程）")
                    break
    return problems


def _diffs(workflow: Any, new: LoadedSpecs) -> tuple[list[tuple[Any, Any, WorkflowDiff]], list[str]]:
    """(workflow or sub-workflow, its new spec, its diff) for the case and each of its sub-processes."""
    registry = SERIALIZER.registry
    pairs = [(workflow, new.spec)]
    problems = []
    for sub in workflow.subprocesses.values():
        target = new.subprocess_specs.get(sub.spec.name)
        if target is None:
            problems.append(f"子流程 {sub.spec.name} 在新版本中已不存在")
        else:
            pairs.append((sub, target))
    found = []
    for owner, target in pairs:
        try:
            spec_diff = SpecDiff(registry, owner.spec, target)
            diff = WorkflowDiff(owner, spec_diff)
        except KeyError as exc:  # a task whose spec the alignment never reached
            problems.append(f"无法比较两个版本的步骤 {exc}")
            continue
        problems.extend(_problems(owner, spec_diff, diff))
        found.append((owner, target, diff))
    return found, problems


def _standing(workflow: Any) -> tuple[str, ...]:
    """The user tasks and events the case waits at (element ids, sorted)."""
    return tuple(sorted({str(t.task_spec.bpmn_id) for t in all_tasks(workflow)
                         if t.has_state(TaskState.READY | TaskState.WAITING) and getattr(t.task_spec, "bpmn_id", None)
                         and (isinstance(t.task_spec, UserTask) or getattr(t.task_spec, "event_definition", None))}))


def check_migration(old_spec_json: str, new_spec_json: str, state_json: str, now: datetime) -> MigrationCheck:
    """Whether the case (its saved state on the old version) can move to the new version, and why not."""
    _old, workflow = _load(old_spec_json, state_json, now)
    if workflow.completed:
        return MigrationCheck(False, "流程已结束", ())
    try:
        _found, problems = _diffs(workflow, load_specs(new_spec_json))
    except Exception as exc:  # a shape SpiffWorkflow's diff cannot align: say so, never fail the listing
        problems = [f"无法比较两个版本（{type(exc).__name__}）"]
    return MigrationCheck(not problems, "；".join(problems), _standing(workflow))


class MigrationRefused(Exception):
    """The case cannot move; the message (Chinese) says why."""


def migrate_case(old_spec_json: str, new_spec_json: str, state_json: str, now: datetime) -> EngineRun:
    """The case moved to the new version and run on to its next wait; raise MigrationRefused if it cannot."""
    _old, workflow = _load(old_spec_json, state_json, now)
    if workflow.completed:
        raise MigrationRefused("流程已结束")
    new = load_specs(new_spec_json)
    try:
        found, problems = _diffs(workflow, new)
    except Exception as exc:
        raise MigrationRefused(f"无法比较两个版本（{type(exc).__name__}）") from exc
    if problems:
        raise MigrationRefused("；".join(problems))
    timers = {t.id: (t.task_spec.name, dict(t.internal_data)) for t in all_tasks(workflow)
              if t.state == TaskState.WAITING and "event_value" in t.internal_data}
    try:
        for owner, target, diff in found:
            migrate_workflow(diff, owner, target)
    except Exception as exc:  # the workflow is discarded: nothing of the attempt is saved
        raise MigrationRefused(f"迁移失败（{type(exc).__name__}：{exc}）") from exc
    workflow.subprocess_specs = dict(new.subprocess_specs)
    for task in all_tasks(workflow):  # a timer set before the move keeps its time
        kept = timers.get(task.id)
        if kept is not None and task.task_spec.name == kept[0] and task.state == TaskState.WAITING:
            task.internal_data.update(kept[1])
    tracker = _Tracker()
    _advance(workflow, tracker)
    return _result(workflow, new, tracker)


def current_run(spec_json: str, state_json: str, now: datetime) -> EngineRun:
    """A saved state as a run (tasks, timers, status) without advancing it: the projection of a restored state."""
    specs, workflow = _load(spec_json, state_json, now)
    return _result(workflow, specs, _Tracker())
