"""Spec JSON and instance state JSON: one serializer, specs parsed once per version, engine re-attached.

- spec JSON = `{"serializer_version", "spec", "subprocess_specs", "forms"}` (SpiffWorkflow's spec
  conversion plus the form schemas, so a run never needs the BPMN XML or the form files).
- state JSON = the serializer's workflow dict *without* `spec` / `subprocess_specs`, plus
  `serializer_version`. Loading re-joins the cached spec objects (no re-parse, no XSD) and always
  attaches a fresh `RestrictedScriptEngine(now)` — SpiffWorkflow does not serialize the engine.
"""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from app.engine.scripting import RestrictedScriptEngine
from app.engine.timers import TIMER_CLASSES

SERIALIZER_VERSION: str = VERSION


class InstanceWorkflowConverter(BpmnWorkflowConverter):
    """Writes a workflow without its specs; reads one whose `spec` entries are already spec objects."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = InstanceWorkflowConverter
    for timer_class in TIMER_CLASSES:  # same typenames, registered last: restored specs get our clock
        config[timer_class] = TimerConditionalEventDefinitionConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    return BpmnWorkflowSerializer(registry)


SERIALIZER = _build_serializer()


def dump_specs(
    spec: Any, subprocess_specs: dict[str, Any], forms: dict[str, dict[str, Any]], order: dict[str, int]
) -> str:
    """The spec JSON stored with a deployed definition (`order`: element id → document position)."""
    registry = SERIALIZER.registry
    return json.dumps(
        {
            "serializer_version": SERIALIZER_VERSION,
            "spec": registry.convert(spec),
            "subprocess_specs": {name: registry.convert(sp) for name, sp in subprocess_specs.items()},
            "forms": forms,
            "order": order,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


class LoadedSpecs:
    """Spec objects restored from one spec JSON, shared by every run of that definition version."""

    __slots__ = ("spec", "subprocess_specs", "forms", "order", "raw")

    def __init__(self, raw: dict[str, Any]) -> None:
        registry = SERIALIZER.registry
        self.raw = raw
        self.spec = registry.restore(copy.deepcopy(raw["spec"]))
        self.subprocess_specs = {
            name: registry.restore(copy.deepcopy(sp)) for name, sp in raw["subprocess_specs"].items()
        }
        self.forms: dict[str, dict[str, Any]] = raw.get("forms", {})
        self.order: dict[str, int] = raw.get("order", {})


@lru_cache(maxsize=256)
def load_specs(spec_json: str) -> LoadedSpecs:
    """Restore (once per distinct spec JSON) the spec objects of a definition version."""
    return LoadedSpecs(json.loads(spec_json))


def new_workflow(specs: LoadedSpecs, now: datetime) -> BpmnWorkflow:
    """A fresh workflow instance on cached specs, with the restricted engine attached."""
    return BpmnWorkflow(specs.spec, dict(specs.subprocess_specs), script_engine=RestrictedScriptEngine(now))


# What SpiffWorkflow writes for nearly every task of the tree (a completed gateway, an event): left out of the
# stored state and put back on load, so a case's state holds only what differs. Lossless; older states load as
# they are.
TASK_DEFAULTS: dict[str, Any] = {"triggered": False, "internal_data": {}, "data": {},
                                 "delta": {"updates": {}, "deletions": []}, "typename": "Task"}


def _task_tables(dct: dict[str, Any]) -> list[dict[str, Any]]:
    return [dct.get("tasks") or {}, *((sub.get("tasks") or {}) for sub in (dct.get("subprocesses") or {}).values())]


def compact_state(dct: dict[str, Any]) -> dict[str, Any]:
    """The serializer's dict without the per-task default values (in place)."""
    for tasks in _task_tables(dct):
        for task in tasks.values():
            for key, default in TASK_DEFAULTS.items():
                if key in task and task[key] == default:
                    del task[key]
    return dct


def expand_state(dct: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `compact_state`: every task gets its defaults back (in place)."""
    for tasks in _task_tables(dct):
        for task in tasks.values():
            # new objects for each task: SpiffWorkflow mutates them
            task.setdefault("triggered", False)
            task.setdefault("typename", "Task")
            task.setdefault("internal_data", {})
            task.setdefault("data", {})
            if "delta" not in task:
                task["delta"] = {"updates": {}, "deletions": []}
    return dct


def dump_state(workflow: BpmnWorkflow) -> str:
    """The instance part of a workflow as JSON (specs left out, per-task defaults left out), with the serializer
    version."""
    dct = compact_state(SERIALIZER.to_dict(workflow))
    dct["serializer_version"] = SERIALIZER_VERSION
    return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))


def load_state(specs: LoadedSpecs, state_json: str, now: datetime) -> BpmnWorkflow:
    """Restore a workflow from its state JSON on cached specs and attach the restricted engine."""
    dct = expand_state(json.loads(state_json))
    version = dct.pop("serializer_version", SERIALIZER_VERSION)
    if version != SERIALIZER_VERSION:
        # Older state: migrations rewrite spec dicts too, so take the slow path with spec dicts joined in.
        dct["spec"] = copy.deepcopy(specs.raw["spec"])
        dct["subprocess_specs"] = copy.deepcopy(specs.raw["subprocess_specs"])
        if version in MIGRATIONS:
            MIGRATIONS[version](dct)
    else:
        dct["spec"] = specs.spec
        dct["subprocess_specs"] = dict(specs.subprocess_specs)
    workflow: BpmnWorkflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = RestrictedScriptEngine(now)  # never trust the default engine
    return workflow
