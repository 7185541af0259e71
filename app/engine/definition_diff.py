"""What changed between two deployed versions of a definition, element by element, in the words an
administrator uses (form, rule, role, name, conditions …), from SpiffWorkflow's `SpecDiff`.

SpecDiff aligns the task specs of two process specs by BPMN id (and by structure where an id changed) and
lists, per aligned pair, the serialized attributes that differ. Here each process of the definition (the
key process and every sub-process / call activity spec, matched by name) is diffed; elements without a
BPMN id (SpiffWorkflow's internal start/end specs) are left out; `extensions` are split into our
properties, and a form whose file kept its name but whose schema changed is a change of `form_schema`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_dependencies

from app.engine.serialization import SERIALIZER, LoadedSpecs, load_specs
from app.engine.validation import FORM_PROPERTY, properties_of

PROPERTY_WORDS = {"formJsonSchemaFilename": "form", "deadlineRule": "rule", "deadlineRuleExpression": "rule",
                  "unitVariable": "unit", "caseStatus": "status", "requestedBy": "requested_by"}
ATTRIBUTE_WORDS = {"lane": "role", "bpmn_name": "name", "cond_task_specs": "conditions",
                   "default_task_spec": "conditions", "script": "script", "prescript": "script",
                   "postscript": "script", "event_definition": "event", "inputs": "flow", "outputs": "flow",
                   "documentation": "documentation", "typename": "type", "spec": "calls"}
FLOW_ONLY = frozenset(("inputs", "outputs", "cond_task_specs", "default_task_spec"))  # where it leads, not what it is


@dataclass(frozen=True)
class ElementChange:
    element: str
    process: str
    properties: tuple[str, ...]  # the administrator's words, sorted
    attributes: tuple[str, ...]  # SpiffWorkflow's serialized attribute names that differ
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class DefinitionDiff:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[ElementChange, ...]


def _bpmn_id(spec: Any) -> str | None:
    value = getattr(spec, "bpmn_id", None)
    return str(value) if value else None


def _processes(loaded: LoadedSpecs) -> dict[str, Any]:
    return {loaded.spec.name: loaded.spec, **loaded.subprocess_specs}


def _change(process: str, old: Any, new: Any, attributes: list[str], old_forms: dict[str, Any],
            new_forms: dict[str, Any]) -> ElementChange | None:
    registry = SERIALIZER.registry
    first, second = registry.convert(old), registry.convert(new)
    words: set[str] = set()
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attribute in attributes:
        if attribute == "extensions":
            old_props, new_props = properties_of(old), properties_of(new)
            for name in sorted(set(old_props) | set(new_props)):
                if old_props.get(name) != new_props.get(name):
                    word = PROPERTY_WORDS.get(name, name)
                    words.add(word)
                    before[word], after[word] = old_props.get(name), new_props.get(name)
            if first.get("extensions", {}).keys() - {"properties"} != second.get("extensions", {}).keys() - {
                    "properties"}:
                words.add("extensions")
            continue
        word = ATTRIBUTE_WORDS.get(attribute, attribute)
        words.add(word)
        before[word], after[word] = first.get(attribute), second.get(attribute)
    form = properties_of(new).get(FORM_PROPERTY)
    if form and form == properties_of(old).get(FORM_PROPERTY) and old_forms.get(form) != new_forms.get(form):
        words.add("form_schema")
        before["form_schema"], after["form_schema"] = old_forms.get(form), new_forms.get(form)
    if not words:
        return None
    return ElementChange(_bpmn_id(old) or old.name, process, tuple(sorted(words)), tuple(sorted(attributes)),
                         before, after)


def diff_definitions(old_spec_json: str, new_spec_json: str) -> DefinitionDiff:
    """Added, removed and changed elements from one deployed version to another."""
    old, new = load_specs(old_spec_json), load_specs(new_spec_json)
    old_processes, new_processes = _processes(old), _processes(new)
    added: list[str] = []
    removed: list[str] = []
    changed: list[ElementChange] = []
    diffs, new_names = diff_dependencies(SERIALIZER.registry, old_processes, new_processes)
    for name in new_names:
        added.extend(i for i in map(_bpmn_id, new_processes[name].task_specs.values()) if i)
    for name, diff in diffs.items():
        if diff is None:
            removed.extend(i for i in map(_bpmn_id, old_processes[name].task_specs.values()) if i)
            continue
        added.extend(i for i in map(_bpmn_id, diff.added) if i)
        removed.extend(i for i in map(_bpmn_id, diff.removed) if i)
        for old_spec, attributes in diff.changed.items():
            new_spec = diff.alignment.get(old_spec)
            if new_spec is None or not _bpmn_id(old_spec):
                continue
            change = _change(name, old_spec, new_spec, attributes, old.forms, new.forms)
            if change is not None:
                changed.append(change)
        for old_spec, new_spec in diff.alignment.items():  # same attributes, another form schema
            if new_spec is not None and old_spec not in diff.changed and _bpmn_id(old_spec):
                change = _change(name, old_spec, new_spec, [], old.forms, new.forms)
                if change is not None:
                    changed.append(change)
    order = {**old.order, **new.order}
    return DefinitionDiff(tuple(sorted(set(added), key=lambda i: order.get(i, 0))),
                          tuple(sorted(set(removed), key=lambda i: order.get(i, 0))),
                          tuple(sorted(changed, key=lambda c: order.get(c.element, 0))))

