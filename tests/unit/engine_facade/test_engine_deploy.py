"""deploy_definition: what it accepts, and every refusal naming the element."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.engine import DefinitionInvalid, deploy_definition
from tests.unit.engine_facade.conftest import DEPLOY_ARGS, FORMS, bpmn, deploy_basic

ATTACKS = [
    "import os",
    "__import__('os')",
    "open('/etc/passwd')",
    "().__class__.__base__.__subclasses__()",
    "'{0.__class__}'.format(1)",
    "'{x.__class__}'.format_map({'x': 1})",
    "g = (x for x in [1])\nf = g.gi_frame.f_back.f_globals",
    "t = 1\nf = t.tb_frame",
    "globals()",
    "while True: pass",
    "x = 9**9**9",
    "x = 'a' * 10**9",
    "x = [0] * 10**9",
    "x = 1 << 10**9",
    "x = '%*d' % (10**9, 1)",
    "x = f'{1:>999999999}'",
    "getattr(1, 'real')",
    "type(1).mro()",
]
EXPRESSION_ATTACKS = [
    "__import__('os') is None",
    "open('/etc/passwd') is None",
    "().__class__.__base__.__subclasses__() == []",
    "'{0.__class__}'.format(1) == ''",
    "(x for x in [1]).gi_frame.f_globals == {}",
    "globals() == {}",
    "9**9**9 > 0",
    "len('a' * 10**9) > 0",
]


def test_a_valid_definition_deploys_with_spec_json_and_checksum(basic):
    assert basic.key == "basic_case"
    assert basic.name == "基础工单"
    assert basic.checksum == hashlib.sha256(basic.spec_json.encode()).hexdigest()
    spec = json.loads(basic.spec_json)
    assert set(spec) >= {"spec", "subprocess_specs", "serializer_version", "forms"}
    assert set(basic.forms) == {"sign_for.json", "reply.json"}


def test_the_same_definition_gives_the_same_checksum(basic):
    assert deploy_basic().checksum == basic.checksum
    assert deploy_basic(script="prepared = False").checksum != basic.checksum


def test_a_doctype_is_refused_before_parsing():
    xml = bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True").replace(
        b"?>", b'?>\n<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', 1
    )
    with pytest.raises(DefinitionInvalid, match="DOCTYPE") as info:
        deploy_definition(xml, FORMS, **DEPLOY_ARGS)
    assert info.value.element_id == "definition"


def test_a_file_over_2_mib_is_refused():
    xml = bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True")
    padded = xml.replace(b"<bpmn:process", b"<!--" + b"x" * (2 * 1024 * 1024) + b"-->\n<bpmn:process", 1)
    with pytest.raises(DefinitionInvalid, match="2 MiB"):
        deploy_definition(padded, FORMS, **DEPLOY_ARGS)


def test_xsd_invalid_bpmn_is_refused_naming_the_element():
    xml = bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True").replace(
        b'<bpmn:userTask id="sign_for" name="\xe7\xad\xbe\xe6\x94\xb6">',
        b'<bpmn:userTask id="sign_for" name="\xe7\xad\xbe\xe6\x94\xb6" bogus="1">',
    )
    with pytest.raises(DefinitionInvalid, match="流程定义无效") as info:
        deploy_definition(xml, FORMS, **DEPLOY_ARGS)
    assert info.value.element_id == "sign_for"


def test_a_user_task_whose_form_is_missing_is_refused():
    forms = {k: v for k, v in FORMS.items() if k != "reply.json"}
    with pytest.raises(DefinitionInvalid, match="reply.json") as info:
        deploy_definition(bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True"), forms, **DEPLOY_ARGS)
    assert info.value.element_id == "reply"


def test_a_form_that_is_not_a_json_schema_is_refused():
    forms = {**FORMS, "reply.json": json.dumps({"type": "object", "properties": {"a": {"type": 5}}}).encode()}
    with pytest.raises(DefinitionInvalid, match="JSON Schema") as info:
        deploy_definition(bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True"), forms, **DEPLOY_ARGS)
    assert info.value.element_id == "reply"


def test_an_unknown_deadline_rule_is_refused():
    with pytest.raises(DefinitionInvalid, match="hotline.accept") as info:
        deploy_definition(bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True"), FORMS,
                          **{**DEPLOY_ARGS, "rule_keys": {"other"}})
    assert info.value.element_id == "sign_for"


def test_a_lane_that_is_not_a_role_is_refused():
    with pytest.raises(DefinitionInvalid, match="dispatcher") as info:
        deploy_definition(
            bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True"), FORMS, **{**DEPLOY_ARGS, "roles": {"handler"}}
        )
    assert info.value.element_id in {"Lane_dispatcher", "start", "prepare", "sign_for"}


def test_a_call_activity_that_resolves_nowhere_is_refused():
    library = {"co_handling.bpmn": bpmn("co_handling.bpmn")}
    with pytest.raises(DefinitionInvalid, match="missing_process") as info:
        deploy_definition(
            bpmn("parent.bpmn", CALLED="missing_process"), FORMS, library=library, **DEPLOY_ARGS
        )
    assert info.value.element_id == "co_handle"


def test_a_call_activity_resolves_in_the_library():
    library = {"co_handling.bpmn": bpmn("co_handling.bpmn")}
    deployed = deploy_definition(
        bpmn("parent.bpmn", CALLED="co_handling"), FORMS, library=library, **DEPLOY_ARGS
    )
    assert deployed.key == "parent_case"
    assert "co_handling" in json.loads(deployed.spec_json)["subprocess_specs"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_attack_script_in_a_script_task_is_refused(attack):
    with pytest.raises(DefinitionInvalid) as info:
        deploy_basic(script=attack)
    assert info.value.element_id == "prepare"
    assert "不允许" in info.value.message


@pytest.mark.parametrize("attack", EXPRESSION_ATTACKS)
def test_an_attack_in_a_gateway_condition_is_refused(attack):
    with pytest.raises(DefinitionInvalid) as info:
        deploy_basic(condition=attack)
    assert info.value.element_id == "accepted_gateway"


def test_an_attack_in_a_timer_expression_is_refused():
    xml = bpmn("supervised.bpmn", TIMER="__import__('os').getcwd()")
    with pytest.raises(DefinitionInvalid) as info:
        deploy_definition(xml, FORMS, **DEPLOY_ARGS)
    assert info.value.element_id == "overdue_timer"


def test_a_plain_task_that_would_stall_the_process_is_refused():
    xml = bpmn("basic.bpmn", SCRIPT="x = 1", CONDITION="True").replace(b"scriptTask", b"task")
    xml = xml.replace(b"<bpmn:script>x = 1</bpmn:script>", b"")
    with pytest.raises(DefinitionInvalid) as info:
        deploy_definition(xml, FORMS, **DEPLOY_ARGS)
    assert info.value.element_id == "prepare"
