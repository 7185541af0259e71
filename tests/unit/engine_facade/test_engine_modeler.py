"""The engine parts the modeler uses, without a database: every refusal of a draft at once, a script's
refusals with line and column, a timer in plain words, and a definition from another modeler."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.engine import DefinitionInvalid, check_definition, import_definition, preview_timer, script_problems
from app.engine.dry_run import form_defaults
from tests.unit.engine_facade.conftest import DEPLOY_ARGS, FORMS

FLOWABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowable="http://flowable.org/bpmn"
  targetNamespace="x"><process id="p" isExecutable="true">
  <startEvent id="s" flowable:formKey="start"/><userTask id="t" flowable:candidateGroups="a"/>%s
  <sequenceFlow id="f" sourceRef="s" targetRef="t"/></process></definitions>"""

TWO_WRONG = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
  <bpmn:process id="two_wrong" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="no_form" name="无表单"/>
    <bpmn:scriptTask id="bad_script"><bpmn:script>x = 1
y = open('a')</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="no_form"/>
    <bpmn:sequenceFlow id="f2" sourceRef="no_form" targetRef="bad_script"/>
    <bpmn:sequenceFlow id="f3" sourceRef="bad_script" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_the_check_answers_every_refusal_at_once_with_the_scripts_position():
    compiled, issues = check_definition(TWO_WRONG.encode(), FORMS, **DEPLOY_ARGS)
    assert compiled is None
    found = {(i.element, i.line, i.column) for i in issues if i.severity == "error"}
    assert ("no_form", None, None) in found and ("bad_script", 2, 5) in found


def test_a_draft_that_does_not_parse_is_one_issue_naming_the_file():
    compiled, issues = check_definition(b"<bpmn:definitions", FORMS, **DEPLOY_ARGS)
    assert compiled is None and len(issues) == 1 and "XML" in issues[0].message


@pytest.mark.parametrize(("source", "mode", "where"), [
    ("x = (1 +", "exec", (1, 5)), ("a = 1\nb = getattr(a, 'x')", "exec", (2, 5)),
    ("kind ==", "eval", (1, 8)), ("x._secret", "eval", (1, 1))])
def test_a_refused_script_is_told_by_line_and_column(source, mode, where):
    problems = script_problems(source, mode)
    assert problems and (problems[0].line, problems[0].column) == where
    assert script_problems("x = kind == 'complaint'", "exec") == []


def test_a_timer_is_told_in_plain_words():
    now = datetime(2026, 12, 3, 10, 0)
    assert preview_timer("duration", "P3D", now)[0] == "3 天后（按日历时间，2026-12-06 10:00）"
    assert preview_timer("date", '"2026-12-31T17:00:00"', now)[:1] == ("2026-12-31 17:00",)
    assert preview_timer("duration", "overdue_after", now)[1] is None
    with pytest.raises(ValueError, match="不是有效的时长"):
        preview_timer("duration", "3 days", now)


def test_a_flowable_file_imports_without_its_extensions_or_is_refused_for_a_groovy_script():
    imported = import_definition((FLOWABLE % "").encode())
    assert {(d.element, d.part, d.modeler) for d in imported.dropped} == {
        ("s", "formKey", "Flowable"), ("t", "candidateGroups", "Flowable")}
    assert b"flowable" not in imported.bpmn_xml
    with pytest.raises(DefinitionInvalid, match="groovy"):
        import_definition((FLOWABLE % '<scriptTask id="g" scriptFormat="groovy"><script>1</script></scriptTask>')
                          .encode())


def test_form_defaults_fill_required_fields_and_defaults_only():
    schema = {"type": "object", "required": ["mode", "lead_unit_id", "ok"],
              "properties": {"mode": {"type": "string", "oneOf": [{"const": "a"}, {"const": "b"}]},
                             "lead_unit_id": {"type": ["integer", "string"]}, "ok": {"type": "boolean"},
                             "flag": {"type": "boolean", "default": True}, "note": {"type": "string"}}}
    assert form_defaults(schema, unit_id=5) == {"mode": "a", "lead_unit_id": 5, "ok": False, "flag": True}


def test_an_element_nothing_leads_to_is_a_warning_and_a_split_without_a_gateway_is_refused():
    orphan = TWO_WRONG.replace('<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end"/>'
                               '<bpmn:scriptTask id="orphan"><bpmn:script>z = 1</bpmn:script></bpmn:scriptTask>')
    _compiled, issues = check_definition(orphan.encode(), FORMS, **DEPLOY_ARGS)
    assert "永远不会执行" in {i.element: i.message for i in issues if i.severity == "warning"}["orphan"]
    split = TWO_WRONG.replace('<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>'
                              '<bpmn:sequenceFlow id="f4" sourceRef="bad_script" targetRef="end2"/>')
    _compiled, issues = check_definition(split.encode(), FORMS, **DEPLOY_ARGS)
    assert [(i.element, "隐式分支" in i.message) for i in issues] == [("bad_script", True)]
