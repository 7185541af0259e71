"""app.engine.describe_definition reads what the stock definitions say about their steps — forms, lanes, unit
variables, rules, statuses, approvals, the path each 办理方式 takes — and follows a changed definition."""

from __future__ import annotations

import pytest
from lxml import etree
from workflow_driver import FORMS, KINDS, LIBRARY, MAIN_PROCESSES, RULE_KEYS, WORKFLOWS, deployed, start_data

from app.engine import deploy_definition, describe_definition

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
FIRST_RULE = {"hotline_order": "hotline.accept", "petition": "petition.objection"}
HANDLE_RULE = {"hotline_order": "hotline.complaint", "petition": "petition.handle"}


def _described(key: str):  # type: ignore[no-untyped-def]
    return describe_definition(deployed(key).spec_json)


def _variant(key: str, old: str, new: str):  # type: ignore[no-untyped-def]
    """The stock definition with one piece of its XML replaced, deployed and described."""
    xml = (WORKFLOWS / MAIN_PROCESSES[key]).read_text(encoding="utf-8")
    assert old in xml
    forms = {p.name: p.read_bytes() for p in FORMS.glob("*.json")}
    variant = deploy_definition(xml.replace(old, new, 1).encode(), forms,
                                library={name: (WORKFLOWS / name).read_bytes() for name in LIBRARY},
                                rule_keys=RULE_KEYS, roles={"agent", "dispatcher", "handler", "leader"},
                                start_variables={**dict.fromkeys(start_data()), "kind": set(KINDS)})
    return describe_definition(variant.spec_json)


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_each_dispatch_mode_reaches_the_steps_its_path_in_the_definition_goes_through(key: str) -> None:
    described = _described(key)

    paths = {mode: [s.step for s in described.path_after("dispatch", "dispatch_mode", mode)]
             for mode in ("self_handle", "transfer", "assign", "co_handle")}

    assert paths == {"self_handle": ["handle"], "transfer": ["sign_for", "handle"],
                     "assign": ["instruct", "sign_for", "handle"],
                     "co_handle": ["sign_for", "assisting_input", "consolidate", "handle"]}


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_the_rule_a_step_takes_is_its_literal_rule_or_its_expression_over_the_data(key: str) -> None:
    described = _described(key)

    assert described.rule_key("sign_for", {}) == FIRST_RULE[key]
    assert described.rule_key("handle", {"kind": "complaint"}) == HANDLE_RULE[key]
    assert described.rule_key("consolidate", {"kind": "complaint"}) is None  # set by a script during the run
    assert described.rule_key("consolidate", {"handle_rule": "hotline.help"}) == "hotline.help"
    assert described.rule_key("instruct", {}) is None


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_every_user_task_is_described_with_its_form_lane_unit_variable_and_status(key: str) -> None:
    described = _described(key)
    trees = [etree.parse(str(WORKFLOWS / name)) for name in (MAIN_PROCESSES[key], *LIBRARY)]
    user_tasks = {t.get("id"): t for tree in trees for t in tree.iterfind(".//bpmn:userTask", NS)}
    statuses = {p.get("value") for tree in trees for p in tree.iterfind(".//spiffworkflow:property", NS)
                if p.get("name") == "caseStatus"}

    assert set(described.steps) == set(user_tasks)
    for step_id, element in user_tasks.items():
        props = {p.get("name"): p.get("value") for p in element.iterfind(".//spiffworkflow:property", NS)}
        step = described.steps[step_id]
        assert (step.title, step.form, step.status, step.unit_variable) == (
            element.get("name"), props["formJsonSchemaFilename"], props.get("caseStatus"),
            props.get("unitVariable", "lead_unit_id"))
        assert step.form_schema["properties"], step_id
    assert described.steps["approve_extension"].role == "leader"
    assert described.steps["review_return"].role == "dispatcher"
    assert set(described.statuses) == statuses


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_every_approval_names_the_step_that_asked_and_that_step_exists(key: str) -> None:
    described = _described(key)

    assert described.approvals == {"approve_rejection": "accept", "approve_extension": "handle",
                                   "review_return": "handle"}
    assert set(described.approvals.values()) <= set(described.steps)


@pytest.mark.parametrize("key", MAIN_PROCESSES)
def test_the_steps_a_message_creates_are_the_supervision_feedback(key: str) -> None:
    assert _described(key).after_message == ("supervision_feedback",)


def test_a_redeployed_definition_with_another_rule_on_sign_for_is_described_with_it() -> None:
    described = _variant("hotline_order", 'name="deadlineRule" value="hotline.accept"',
                         'name="deadlineRule" value="hotline.return"')

    assert described.rule_key("sign_for", {}) == "hotline.return"


def test_a_changed_gateway_condition_changes_the_path_of_a_mode() -> None:
    described = _variant("hotline_order", "<bpmn:conditionExpression>dispatch_mode == 'self_handle'",
                         "<bpmn:conditionExpression>dispatch_mode in ('self_handle', 'assign')")

    assert [s.step for s in described.path_after("dispatch", "dispatch_mode", "assign")] == ["instruct", "handle"]
    assert [s.step for s in described.path_after("dispatch", "dispatch_mode", "transfer")] == ["sign_for", "handle"]


def test_a_path_stops_where_it_depends_on_a_later_decision() -> None:
    described = _described("hotline_order")

    assert [s.step for s in described.path_after("handle", "dispatch_mode", "transfer")] == []
    assert [s.step for s in described.path_after("accept", "dispatch_mode", "transfer")] == []
    assert described.path_after("no_such_step", "dispatch_mode", "transfer") == []
