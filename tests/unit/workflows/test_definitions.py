"""Every stock BPMN file parses; every form, rule, lane, status and script it names exists and is valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from workflow_driver import (
    FORMS,
    KINDS,
    LIBRARY,
    MAIN_PROCESSES,
    ROLES,
    RULE_KEYS,
    WORKFLOWS,
    deployed,
    load_form,
    parser_for,
    start_data,
)

from app.engine import CompiledDefinition, DefinitionInvalid, deploy_definition
from app.engine.policy import compile_script

TASK_STATUSES = {"registered", "dispatching", "handling", "approving", "replied", "follow_up", "reviewing",
                 "re_reviewing"}
END_STATUSES = {"closed", "archived", "rejected", "terminated"}
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "userTask", "scriptTask", "callActivity",
              "subProcess", "exclusiveGateway", "parallelGateway")


def all_specs(key: str) -> list:
    """The main process spec and every sub-process / call activity spec it uses."""
    parser = parser_for(key)
    return [parser.get_spec(key), *parser.get_subprocess_specs(key).values()]


def task_specs(key: str) -> list:
    return [ts for spec in all_specs(key) for ts in spec.task_specs.values()]


def user_tasks(key: str) -> list:
    return [ts for ts in task_specs(key) if isinstance(ts, UserTask)]


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_the_engine_facade_deploys_each_main_process_with_its_library_and_forms(key: str) -> None:
    definition = deployed(key)
    assert definition.key == key
    assert set(definition.forms) == {f"{ts.bpmn_id}.json" for ts in user_tasks(key)}


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_each_main_process_parses_with_its_call_activities(key: str) -> None:
    specs = all_specs(key)
    assert {s.name for s in specs} == {key, f"{key}_handling", "co_handle", "extension_approval"}


def test_every_bpmn_file_is_listed_and_parses_on_its_own() -> None:
    files = {p.name for p in WORKFLOWS.glob("*.bpmn")}
    assert files == set(MAIN_PROCESSES.values()) | set(LIBRARY)
    for name in files:
        parser = parser_for("hotline_order").__class__()
        parser.add_bpmn_file(str(WORKFLOWS / name))
        for process_id in parser.get_process_ids():
            assert parser.get_spec(process_id) is not None


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_every_user_task_names_a_valid_form_lane_unit_and_status(key: str) -> None:
    for ts in user_tasks(key):
        props = ts.extensions.get("properties", {})
        form = props.get("formJsonSchemaFilename")
        assert form == f"{ts.bpmn_id}.json", ts.bpmn_id
        Draft202012Validator.check_schema(load_form(form))
        assert ts.lane in ROLES, ts.bpmn_id
        assert props.get("caseStatus") in TASK_STATUSES, ts.bpmn_id
        assert props.get("unitVariable", "").isidentifier(), ts.bpmn_id


def test_every_form_file_is_used_and_has_chinese_titles_and_labelled_choices() -> None:
    used = {ts.extensions["properties"]["formJsonSchemaFilename"] for key in MAIN_PROCESSES for ts in user_tasks(key)}
    assert used == {p.name for p in FORMS.glob("*.json")}
    chinese = re.compile(r"[\u4e00-\u9fff]")
    for name in used:
        schema = load_form(name)
        assert schema["type"] == "object" and chinese.search(schema["title"]), name
        assert set(schema["required"]) <= set(schema["properties"]), name
        for field, prop in schema["properties"].items():
            assert chinese.search(prop["title"]), f"{name}:{field}"
            for option in prop.get("oneOf", []):
                assert set(option) == {"const", "title"} and chinese.search(option["title"]), f"{name}:{field}"


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_every_deadline_rule_named_exists(key: str) -> None:
    for ts in user_tasks(key):
        props = ts.extensions["properties"]
        if "deadlineRule" in props:
            assert props["deadlineRule"] in RULE_KEYS, ts.bpmn_id
        if "deadlineRuleExpression" in props:
            for kind in KINDS:
                handle_rule = "petition.handle" if key == "petition" else f"hotline.{kind}"
                rule = eval(props["deadlineRuleExpression"], {"__builtins__": {}},  # noqa: S307
                            {"kind": kind, "handle_rule": handle_rule})
                assert rule in RULE_KEYS, (ts.bpmn_id, kind)


def test_hotline_handling_rule_follows_the_kind_and_petition_uses_petition_handle() -> None:
    handle = {key: next(ts for ts in user_tasks(key) if ts.bpmn_id == "handle") for key in MAIN_PROCESSES}
    assert handle["hotline_order"].extensions["properties"]["deadlineRuleExpression"] == "'hotline.' + kind"
    assert handle["petition"].extensions["properties"]["deadlineRule"] == "petition.handle"


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_every_top_level_end_event_carries_an_end_status(key: str) -> None:
    main = all_specs(key)[0]
    ends = [ts for ts in main.task_specs.values() if isinstance(ts, EndEvent) and ts.bpmn_id]
    assert ends
    for ts in ends:
        assert ts.extensions.get("properties", {}).get("caseStatus") in END_STATUSES, ts.bpmn_id


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_every_script_and_condition_compiles_under_the_restricted_policy(key: str) -> None:
    sources = []
    for ts in task_specs(key):
        if isinstance(ts, ScriptTask):
            sources.append(("exec", ts.script))
        for attr in ("prescript", "postscript"):
            if getattr(ts, attr, None):
                sources.append(("exec", getattr(ts, attr)))
        for condition, _target in getattr(ts, "cond_task_specs", None) or []:
            if condition is not None:
                sources.append(("eval", condition.args[0]))
        expression = ts.extensions.get("properties", {}).get("deadlineRuleExpression") if hasattr(
            ts, "extensions") else None
        if expression:
            sources.append(("eval", expression))
    assert len(sources) > 20
    for mode, source in sources:
        compile_script(source, mode)


@pytest.mark.parametrize("name", sorted(set(MAIN_PROCESSES.values()) | set(LIBRARY)))
def test_every_element_is_drawn(name: str) -> None:
    tree = etree.parse(str(WORKFLOWS / name))
    drawn_shapes = set(tree.xpath("//bpmndi:BPMNShape/@bpmnElement", namespaces=NS))
    drawn_edges = set(tree.xpath("//bpmndi:BPMNEdge/@bpmnElement", namespaces=NS))
    nodes = {e.get("id") for tag in FLOW_NODES for e in tree.iterfind(f".//bpmn:{tag}", NS)}
    flows = {e.get("id") for e in tree.iterfind(".//bpmn:sequenceFlow", NS)}
    lanes = {e.get("id") for e in tree.iterfind(".//bpmn:lane", NS)}
    assert nodes | lanes <= drawn_shapes
    assert flows <= drawn_edges
    planes = set(tree.xpath("//bpmndi:BPMNPlane/@bpmnElement", namespaces=NS))
    collapsed = {e.get("id") for e in tree.iterfind(".//bpmn:subProcess", NS)}
    assert collapsed <= planes  # each collapsed sub-process has its own drill-down plane


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_lanes_of_tasks_inside_sub_processes_are_their_own(key: str) -> None:
    """A sub-process shape must stay out of the parent's lanes, or SpiffWorkflow gives its lane to every
    task inside it (docs/lifecycle.md)."""
    tree = etree.parse(str(WORKFLOWS / MAIN_PROCESSES[key]))
    in_lanes = set(tree.xpath("/bpmn:definitions/bpmn:process/bpmn:laneSet//bpmn:flowNodeRef/text()",
                              namespaces=NS))
    assert f"{key}_handling" not in in_lanes
    lanes = {ts.bpmn_id: ts.lane for ts in user_tasks(key)}
    assert lanes["review_return"] == "dispatcher"
    assert lanes["approve_extension"] == "leader"
    assert lanes["handle"] == lanes["sign_for"] == lanes["supervision_feedback"] == "handler"


def test_forms_directory_holds_only_json_schemas() -> None:
    assert all(p.suffix == ".json" for p in Path(FORMS).iterdir())


def deploy_stock(key: str, main: bytes | None = None, rule_keys: set[str] = RULE_KEYS,
                 kinds: frozenset[str] = frozenset(KINDS)) -> CompiledDefinition:
    """A stock main process through the facade, with its main file, rule keys or kinds changed."""
    return deploy_definition(
        main if main is not None else (WORKFLOWS / MAIN_PROCESSES[key]).read_bytes(),
        {p.name: p.read_bytes() for p in FORMS.glob("*.json")},
        library={name: (WORKFLOWS / name).read_bytes() for name in LIBRARY},
        rule_keys=rule_keys, roles=ROLES,
        start_variables={**dict.fromkeys(start_data()), "kind": kinds},
    )


def test_co_handles_handle_rule_is_checked_at_deploy_over_what_the_main_process_assigns() -> None:
    main = (WORKFLOWS / "petition.bpmn").read_bytes().replace(b"handle_rule = 'petition.handle'",
                                                              b"handle_rule = 'petition.nonexistent'")
    with pytest.raises(DefinitionInvalid, match="petition.nonexistent") as info:
        deploy_stock("petition", main)
    assert info.value.element_id in {"assisting_input", "consolidate"}  # the call activity's tasks


def test_every_kind_in_the_dictionary_needs_its_hotline_rule() -> None:
    with pytest.raises(DefinitionInvalid, match="hotline.other"):
        deploy_stock("hotline_order", kinds=frozenset({*KINDS, "other"}))
    with pytest.raises(DefinitionInvalid, match="hotline.praise"):
        deploy_stock("hotline_order", rule_keys=RULE_KEYS - {"hotline.praise"})
    assert deploy_stock("hotline_order").key == "hotline_order"
