"""Deploy refuses what would only fail once cases run: names nothing provides, timers that cannot run, and
deadline rule expressions that can name a rule that does not exist (fault table row 17)."""

from __future__ import annotations

import json

import pytest

from app.engine import DefinitionInvalid, deploy_definition
from app.engine.dataflow import EvaluationSpent, build
from tests.unit.engine_facade.conftest import DEPLOY_ARGS, FORMS, START_VARIABLES, bpmn, deploy_basic


def supervised(timer: str, kind: str = "timeDuration", **deploy_args: object):
    xml = bpmn("supervised.bpmn", TIMER=timer).replace(b"timeDuration>", f"{kind}>".encode())
    return deploy_definition(xml, FORMS, **{**DEPLOY_ARGS, **deploy_args})


def with_reply_rule(expression: str, script: str = "prepared = True", **deploy_args: object):
    xml = bpmn("basic.bpmn", SCRIPT=script, CONDITION="accepted == True").replace(
        b'value="\'hotline.\' + kind"', f'value="{expression}"'.encode())
    return deploy_definition(xml, FORMS, **{**DEPLOY_ARGS, **deploy_args})


@pytest.mark.parametrize("timer", ["PT1H", "P2D", "R3/PT1H"])
def test_a_timer_written_without_quotes_is_refused_naming_the_timer(timer):
    kind = "timeCycle" if timer.startswith("R") else "timeDuration"
    with pytest.raises(DefinitionInvalid, match="没有来源") as info:
        supervised(timer, kind)
    assert info.value.element_id == "overdue_timer"


@pytest.mark.parametrize(("timer", "kind", "words"), [
    ('"PT1X"', "timeDuration", "时长"),
    ('"tomorrow"', "timeDuration", "时长"),
    ('"2026-13-01T09:00:00"', "timeDate", "日期时间"),
    ('"R3/PT1X"', "timeCycle", "循环定时"),
    ('"R3"', "timeCycle", "循环定时"),
    ("42", "timeDate", "日期时间"),
])
def test_a_timer_whose_value_cannot_run_is_refused(timer, kind, words):
    with pytest.raises(DefinitionInvalid, match=words) as info:
        supervised(timer, kind)
    assert info.value.element_id == "overdue_timer" and "文字须加引号" in info.value.message


def test_a_timer_that_fails_to_evaluate_is_refused():
    with pytest.raises(DefinitionInvalid, match="求值失败") as info:
        supervised("'P' + 1")
    assert info.value.element_id == "overdue_timer"


@pytest.mark.parametrize(("timer", "kind"), [
    ('"P2D"', "timeDuration"),
    ("iso(add_days(today(), 3))", "timeDate"),
    ('"2026-02-01T09:00:00+08:00"', "timeDate"),
    ('"R2/PT12H"', "timeCycle"),
    ("'P%dD' % len(assisting_unit_ids)", "timeDuration"),  # reads data only a running case has: names checked
])
def test_timers_that_can_run_deploy(timer, kind):
    assert supervised(timer, kind).key


def test_a_script_reading_a_name_nothing_provides_is_refused_naming_the_task():
    with pytest.raises(DefinitionInvalid, match="undefined_name") as info:
        deploy_basic(script="x = undefined_name + 1")
    assert info.value.element_id == "prepare"
    assert "没有来源" in info.value.message


def test_a_condition_reading_a_name_nothing_provides_is_refused_naming_the_gateway():
    with pytest.raises(DefinitionInvalid, match="typo_accepted") as info:
        deploy_basic(condition="typo_accepted == True")
    assert info.value.element_id == "accepted_gateway"


@pytest.mark.parametrize("script", [
    "total = len(assisting_unit_ids) + case_id",  # start variables
    "shown = sorted([u for u in assisting_unit_ids])\nfirst = shown[0] if shown else None",  # own names
    "due = iso(add_days(today(), 3))",  # whitelisted functions
    "def twice(n):\n    return n * 2\nx = twice(case_id)",
])
def test_names_from_start_variables_scripts_and_functions_are_accepted(script):
    assert deploy_basic(script=script).key == "basic_case"


def test_a_form_field_and_a_name_another_script_assigns_may_be_read():
    # `accepted` is a field of sign_for.json; `prepared` is assigned by the script task.
    assert deploy_basic(script="prepared = True", condition="accepted == True and prepared").key


def test_a_unit_variable_nothing_provides_is_refused():
    xml = bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True").replace(b'value="centre_unit_id"',
                                                                      b'value="centre_unit"')
    with pytest.raises(DefinitionInvalid, match="unitVariable centre_unit") as info:
        deploy_definition(xml, FORMS, **DEPLOY_ARGS)
    assert info.value.element_id == "sign_for"


def test_every_kind_a_rule_expression_meets_must_have_its_rule():
    with pytest.raises(DefinitionInvalid, match="hotline.praise") as info:
        deploy_basic_with_kinds({"complaint", "praise"})
    assert info.value.element_id == "reply"
    assert deploy_basic_with_kinds({"complaint"}).key


def deploy_basic_with_kinds(kinds: set[str]):
    return deploy_definition(bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True"), FORMS,
                             **{**DEPLOY_ARGS, "start_variables": {**START_VARIABLES, "kind": kinds}})


def test_a_rule_named_through_a_script_variable_is_checked_over_every_value():
    script = "handle_rule = 'hotline.' + kind if kind != 'praise' else 'hotline.handle'"
    kinds = {**START_VARIABLES, "kind": {"complaint", "praise"}}
    assert with_reply_rule("handle_rule", script, start_variables=kinds).key
    script = "handle_rule = 'hotline.' + kind"
    with pytest.raises(DefinitionInvalid, match="hotline.praise") as info:
        with_reply_rule("handle_rule", script, start_variables=kinds)
    assert info.value.element_id == "reply"


def test_a_rule_chosen_from_a_form_field_is_checked_over_its_choices():
    schema = json.loads(FORMS["sign_for.json"])
    schema["properties"]["urgent"] = {"type": "boolean", "title": "加急"}
    forms = {**FORMS, "sign_for.json": json.dumps(schema).encode()}
    xml = bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True").replace(
        b'value="\'hotline.\' + kind"', b"value=\"'hotline.accept' if urgent else 'hotline.handle'\"")
    assert deploy_definition(xml, forms, **DEPLOY_ARGS).key
    xml = xml.replace(b"'hotline.handle'", b"'hotline.slow'")
    with pytest.raises(DefinitionInvalid, match="hotline.slow"):
        deploy_definition(xml, forms, **DEPLOY_ARGS)


@pytest.mark.parametrize("expression", ["'hotline.' + category", "'hotline.' + str(case_id)"])
def test_a_rule_expression_over_unbounded_data_is_refused(expression):
    with pytest.raises(DefinitionInvalid, match="无法在部署时确定") as info:
        with_reply_rule(expression)
    assert info.value.element_id == "reply"


def test_deploy_time_evaluation_runs_under_a_budget():
    script = "handle_rule = 'hotline.' + str(sum([1 for i in range(10**6) for j in range(10**6)]))"
    with pytest.raises(DefinitionInvalid, match="已被终止") as info:
        with_reply_rule("handle_rule", script)
    assert info.value.element_id == "reply" and "求值失败" in info.value.message


def test_all_deploy_time_evaluations_of_a_definition_share_one_budget():
    flow = build([], [], {}, {"kind": {"complaint"}})
    assert flow.expression_values("'hotline.' + kind") == ["hotline.complaint"]
    flow.deadline = 0.0  # spent
    with pytest.raises(EvaluationSpent):
        flow.expression_values("'hotline.' + kind")
