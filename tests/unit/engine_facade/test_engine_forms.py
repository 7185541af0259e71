"""Forms never reach outside themselves: no $ref retrieval (at deploy or after), RE2 patterns, bounded files."""

from __future__ import annotations

import json

import pytest

from app.engine import DefinitionInvalid, FormInvalid, ScriptFailed, complete_task, deploy_definition, start_workflow
from tests.unit.engine_facade.conftest import DEPLOY_ARGS, FORMS, NOW, START_DATA, bpmn, deploy_basic


def sign_for_with(**fields: object) -> dict[str, bytes]:
    """The fixture forms with sign_for.json given extra properties."""
    schema = json.loads(FORMS["sign_for.json"])
    schema["properties"].update(fields)
    return {**FORMS, "sign_for.json": json.dumps(schema).encode()}


def deploy_with(forms: dict[str, bytes]):
    return deploy_definition(bpmn("basic.bpmn", SCRIPT="prepared = True", CONDITION="accepted == True"), forms,
                             **DEPLOY_ARGS)


def tamper_form(spec_json: str, name: str, **fields: object) -> str:
    """What an attacker with database access would do: edit a deployed form behind deploy's back."""
    spec = json.loads(spec_json)
    spec["forms"][name]["properties"].update(fields)
    return json.dumps(spec)


@pytest.mark.parametrize("ref_kind", ["http", "file"])
def test_a_ref_outside_the_form_is_refused_at_deploy_and_fetches_nothing(loopback, tmp_path, ref_kind):
    secret = tmp_path / "schema.json"
    secret.write_text('{"type": "string"}')
    ref = loopback.url if ref_kind == "http" else secret.as_uri()
    with pytest.raises(DefinitionInvalid) as info:
        deploy_with(sign_for_with(note={"$ref": ref}))
    assert info.value.element_id == "sign_for"
    assert "sign_for.json" in info.value.message and "/properties/note/$ref" in info.value.message
    assert loopback.hits == []


@pytest.mark.parametrize("keyword", ["$ref", "$dynamicRef"])
def test_a_ref_nested_deep_in_a_form_is_refused_too(loopback, keyword):
    nested = {"type": "array", "items": {"anyOf": [{"type": "string"}, {keyword: loopback.url}]}}
    with pytest.raises(DefinitionInvalid, match="items/anyOf/1"):
        deploy_with(sign_for_with(note=nested))
    assert loopback.hits == []


def test_a_local_ref_still_works():
    forms = sign_for_with(note={"$ref": "#/$defs/short"})
    schema = json.loads(forms["sign_for.json"])
    schema["$defs"] = {"short": {"type": "string", "maxLength": 3}}
    deployed = deploy_with({**forms, "sign_for.json": json.dumps(schema).encode()})
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    with pytest.raises(FormInvalid) as info:
        complete_task(deployed.spec_json, run.state_json, run.tasks[0].task_id, {"accepted": True, "note": "太长了吧"},
                      NOW)
    assert set(info.value.errors) == {"note"}


@pytest.mark.parametrize("ref_kind", ["http", "file"])
def test_a_ref_inserted_after_deploy_is_never_retrieved_at_completion(basic, loopback, tmp_path, ref_kind):
    secret = tmp_path / "schema.json"
    secret.write_text('{"type": "boolean"}')
    ref = loopback.url if ref_kind == "http" else secret.as_uri()
    tampered = tamper_form(basic.spec_json, "sign_for.json", note={"$ref": ref})
    run = start_workflow(tampered, START_DATA, NOW)
    with pytest.raises(ScriptFailed, match="sign_for.json") as info:
        complete_task(tampered, run.state_json, run.tasks[0].task_id, {"accepted": True, "note": "好"}, NOW)
    assert info.value.element_id == "sign_for"
    assert loopback.hits == []  # and the file's schema was not applied: the answer was neither accepted nor judged


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)a", "(?<!x)y", "a{1001}", r"\p{Han}{500}" * 20])
def test_a_pattern_re2_cannot_run_is_refused_at_deploy(pattern):
    with pytest.raises(DefinitionInvalid, match="不是安全的正则表达式") as info:
        deploy_with(sign_for_with(note={"type": "string", "pattern": pattern}))
    assert info.value.element_id == "sign_for" and "/properties/note/pattern" in info.value.message


def test_a_pattern_properties_key_re2_cannot_run_is_refused():
    with pytest.raises(DefinitionInvalid, match="patternProperties"):
        deploy_with(sign_for_with(extra={"type": "object", "patternProperties": {r"(x)\1": {"type": "string"}}}))


@pytest.mark.parametrize("pattern", ["^(a+)+$", "^(a|aa)*b$", r"^(\w+\s?)*$"])
def test_a_pattern_that_would_backtrack_runs_in_linear_time_on_re2(pattern):
    # Python's backtracking engine would take longer than the age of the universe on these answers.
    deployed = deploy_with(sign_for_with(note={"type": "string", "pattern": pattern}))
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    with pytest.raises(FormInvalid) as info:
        complete_task(deployed.spec_json, run.state_json, run.tasks[0].task_id,
                      {"accepted": True, "note": "a" * 5000 + "!"}, NOW)
    assert info.value.errors == {"note": "「note」格式不正确"}


def test_a_pattern_re2_refuses_inserted_after_deploy_stops_the_step_not_the_worker(basic):
    tampered = tamper_form(basic.spec_json, "sign_for.json", note={"type": "string", "pattern": r"^(a+)\1$"})
    run = start_workflow(tampered, START_DATA, NOW)
    with pytest.raises(ScriptFailed, match="不是安全的正则表达式") as info:
        complete_task(tampered, run.state_json, run.tasks[0].task_id, {"accepted": True, "note": "aa"}, NOW)
    assert info.value.element_id == "sign_for"


def test_a_safe_pattern_accepts_and_refuses_answers():
    deployed = deploy_with(sign_for_with(phone={"type": "string", "title": "电话", "pattern": r"^1\d{10}$"}))
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    task = run.tasks[0].task_id
    with pytest.raises(FormInvalid) as info:
        complete_task(deployed.spec_json, run.state_json, task, {"accepted": True, "phone": "12345"}, NOW)
    assert info.value.errors == {"phone": "「电话」格式不正确"}
    done = complete_task(deployed.spec_json, run.state_json, task, {"accepted": True, "phone": "13812345678"}, NOW)
    assert done.data["phone"] == "13812345678"


def test_a_form_over_the_size_bound_is_refused():
    forms = sign_for_with(note={"type": "string", "description": "说" * 100_000})
    with pytest.raises(DefinitionInvalid, match="超过 256 KiB") as info:
        deploy_with(forms)
    assert info.value.element_id == "sign_for"


@pytest.mark.parametrize("depth", [33, 5000, 100_000])
def test_a_form_nested_too_deep_is_refused_before_parsing(depth):
    text = '{"type": "object", "properties": {"x": ' + "[" * depth + "]" * depth + "}}"
    expected = "超过 256 KiB" if len(text) > 256 * 1024 else "嵌套层数超过 32 层"
    with pytest.raises(DefinitionInvalid, match=expected):
        deploy_with({**FORMS, "sign_for.json": text.encode()})


def test_brackets_inside_strings_do_not_count_as_nesting():
    deployed = deploy_with(sign_for_with(note={"type": "string", "title": "[[[[" * 40 + "{{{{" * 40}))
    assert deployed.forms["sign_for.json"]["properties"]["note"]["title"].startswith("[[[[")


def test_a_form_declaring_an_unknown_dialect_is_refused(loopback):
    schema = json.loads(FORMS["sign_for.json"])
    schema["$schema"] = loopback.url
    with pytest.raises(DefinitionInvalid, match="Draft 2020-12 或 Draft 7"):
        deploy_with({**FORMS, "sign_for.json": json.dumps(schema).encode()})
    assert loopback.hits == []


def test_the_fixture_forms_still_deploy():
    assert set(deploy_basic().forms) == {"sign_for.json", "reply.json"}
