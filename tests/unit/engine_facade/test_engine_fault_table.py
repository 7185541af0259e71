"""Fault table rows 16–20 (../shared/FAULT-TABLE.md) at the engine: malformed BPMN, script and timer errors,
XXE, XML bombs and the script attack corpus — each refused at deploy by our own guards, nothing fetched.

The API side of the same rows (422/413 over HTTP, nothing stored, on both databases) is in
tests/integration/test_definitions_api.py. Outcomes are asserted, never timings.
"""

from __future__ import annotations

import pytest

from app.engine import DefinitionInvalid, ScriptFailed, deploy_definition, start_workflow
from app.engine.deploy import MAX_BPMN_BYTES, parse_xml
from app.engine.scripting import RestrictedEnvironment
from tests.unit.engine_facade.conftest import (
    DEPLOY_ARGS,
    FORMS,
    NOW,
    START_DATA,
    bpmn,
    deploy_basic,
    replace_in_spec,
)

BASIC = bpmn("basic.bpmn", SCRIPT="prepared = True", CONDITION="accepted == True")
HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def refused(xml: bytes) -> DefinitionInvalid:
    with pytest.raises(DefinitionInvalid) as info:
        deploy_definition(xml, FORMS, **DEPLOY_ARGS)
    return info.value


# Row 16 — malformed BPMN: refused at upload with a reason, the parse, XSD and get_spec all run at deploy.

def test_16_a_file_that_is_not_xml_is_refused_with_the_line():
    error = refused(b"this is not xml at all <<<")
    assert error.element_id == "definition" and "XML 格式错误" in error.message


def test_16_well_formed_xml_that_is_not_bpmn_is_refused():
    error = refused(HEAD + b"<html><body>not a process</body></html>")
    assert "流程定义无效" in error.message or "可执行的主流程" in error.message


def test_16_bpmn_without_an_executable_process_is_refused():
    error = refused(BASIC.replace(b'isExecutable="true"', b'isExecutable="false"'))
    assert "可执行的主流程" in error.message


def test_16_a_process_without_a_start_event_is_refused():
    xml = BASIC.replace(b'<bpmn:startEvent id="start">', b'<bpmn:intermediateThrowEvent id="start">')
    xml = xml.replace(b"</bpmn:startEvent>", b"</bpmn:intermediateThrowEvent>")
    error = refused(xml)
    assert error.message == "流程定义无效：流程没有开始事件"


@pytest.mark.parametrize(("end", "was"), [("targetRef", "end_closed"), ("sourceRef", "reply")])
def test_16_a_sequence_flow_to_nowhere_is_refused_naming_it(end, was):
    xml = BASIC.replace(f'{end}="{was}"'.encode(), f'{end}="no_such_node"'.encode(), 1)
    error = refused(xml)
    assert error.element_id == "flow_replied"
    assert error.message == f"顺序流 flow_replied 的 {end} 指向不存在的元素 no_such_node"


def test_16_bpmn_with_an_unknown_element_fails_xsd_validation():
    xml = BASIC.replace(b"<bpmn:laneSet", b"<bpmn:madeUpElement /><bpmn:laneSet", 1)
    assert "流程定义无效" in refused(xml).message


# Row 17 — a script syntax error or an invalid timer fails at deploy, not at run time.

@pytest.mark.parametrize("script", ["x = (", "if True\n    x = 1", "x = 1 +", "def f(:\n    pass"])
def test_17_a_script_syntax_error_is_refused_naming_the_task(script):
    with pytest.raises(DefinitionInvalid) as info:
        deploy_basic(script=script)
    assert info.value.element_id == "prepare" and "不允许" in info.value.message


def test_17_a_condition_syntax_error_is_refused_naming_the_gateway():
    with pytest.raises(DefinitionInvalid) as info:
        deploy_basic(condition="accepted ==")
    assert info.value.element_id == "accepted_gateway"


@pytest.mark.parametrize("timer", ['"P2X"', "PT1H", '"tomorrow"'])
def test_17_an_invalid_timer_duration_is_refused_naming_the_timer(timer):
    with pytest.raises(DefinitionInvalid) as info:
        deploy_definition(bpmn("supervised.bpmn", TIMER=timer), FORMS, **DEPLOY_ARGS)
    assert info.value.element_id == "overdue_timer"


# Row 18 — XXE: refused before parsing ("DOCTYPE"), and our parser would neither read nor fetch anyway.

def xxe_variants(url: str, path: str) -> list[bytes]:
    body = b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>&x;</bpmn:definitions>"
    return [
        HEAD + f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{path}">]>'.encode() + body,
        HEAD + f'<!DOCTYPE d [<!ENTITY x SYSTEM "{url}">]>'.encode() + body,
        HEAD + f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{url}"> %p;]>'.encode() + body,
        HEAD + f'<!DOCTYPE d SYSTEM "{url}">'.encode() + body,
        HEAD + b"<!doctype d [<!ENTITY x 'y'>]>" + body,
        HEAD + b"< ! DOCTYPE d>" + body,
    ]


def test_18_every_xxe_form_is_refused_before_parsing_and_fetches_nothing(loopback, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    for xml in xxe_variants(loopback.url, str(secret)):
        error = refused(xml)
        assert error.element_id == "definition"
        assert "DOCTYPE" in error.message or "XML 格式错误" in error.message, error.message
        assert "TOP-SECRET" not in error.message
    assert loopback.hits == []


def test_18_the_guard_behind_the_guard_our_parser_never_resolves_or_fetches(loopback, tmp_path):
    """The byte check is ours; so is the parser's configuration: even a DOCTYPE that reached it reads nothing."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    for xml in xxe_variants(loopback.url, str(secret))[:4]:
        try:
            root = parse_xml(xml, "definition")
        except DefinitionInvalid:
            continue
        assert "TOP-SECRET" not in (root.text or "") + "".join(root.itertext())
    assert loopback.hits == []


# Row 19 — XML bombs and oversized files: refused on the bytes (cap 2 MiB) or by the hardened parser.

def test_19_billion_laughs_and_quadratic_blowup_are_refused_as_doctype():
    laughs = HEAD + b'<!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
        for i in range(1, 10)) + b"]><lolz>&lol9;</lolz>"
    quadratic = HEAD + b'<!DOCTYPE q [<!ENTITY a "' + b"a" * 50_000 + b'">]><q>' + b"&a;" * 30_000 + b"</q>"
    for xml in (laughs, quadratic):
        error = refused(xml)
        assert "DOCTYPE" in error.message or "2 MiB" in error.message


def test_19_nesting_5000_deep_is_refused_by_the_parser_not_a_crash():
    xml = HEAD + b"<a>" * 5000 + b"</a>" * 5000
    error = refused(xml)
    assert error.element_id == "definition" and "XML 格式错误" in error.message


@pytest.mark.parametrize("megabytes", [3, 30, 50])
def test_19_a_huge_attribute_or_file_is_refused_on_its_size_before_parsing(megabytes):
    xml = BASIC.replace(b'name="\xe5\x9f\xba\xe7\xa1\x80\xe5\xb7\xa5\xe5\x8d\x95"',
                        b'name="' + b"x" * (megabytes * 1024 * 1024) + b'"', 1)
    assert len(xml) > MAX_BPMN_BYTES
    error = refused(xml)
    assert "超过 2 MiB" in error.message  # the size check, not a parse error: the parser never ran


# Row 20 — the script attack corpus: all refused at upload; the run-time guards stop the rest; the
# engine keeps serving afterwards.

SCRIPT_ATTACK_CORPUS = [
    "import os",
    "from os import system",
    "__import__('os').system('id')",
    "open('/etc/passwd').read()",
    "eval('1+1')",
    "exec('x = 1')",
    "compile('1', 'f', 'eval')",
    "globals()['__builtins__']",
    "locals()",
    "vars()",
    "getattr(1, '__class__')",
    "().__class__.__base__.__subclasses__()",
    "(lambda: 0).__globals__",
    "''.join.__self__",
    "'{0.__class__}'.format(1)",
    "'{x.__class__}'.format_map({'x': 1})",
    "g = (x for x in [1])\nf = g.gi_frame.f_back.f_globals",
    "type(1).mro()",
    "while True: pass",
    "x = 9**9**9",
    "x = 'a' * 10**9",
    "x = [0] * 10**9",
    "x = 1 << 10**9",
    "x = '%*d' % (10**9, 1)",
    "x = f'{1:>999999999}'",
]
RUN_TIME_BOMBS = [
    "n = 0\nwhile n >= 0:\n    n += 1",
    "k = 10**5\nx = 'a' * k * k",
    "s = 'ab'\nfor i in range(100):\n    s = s + s",
    "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(60)",
]


def test_20_the_corpus_has_25_attacks_and_each_is_refused_at_upload():
    assert len(SCRIPT_ATTACK_CORPUS) == 25
    for attack in SCRIPT_ATTACK_CORPUS:
        with pytest.raises(DefinitionInvalid) as info:
            deploy_basic(script=attack)
        assert info.value.element_id == "prepare", attack


@pytest.mark.parametrize("bomb", RUN_TIME_BOMBS)
def test_20_cpu_and_memory_bombs_that_compile_are_stopped_at_run_and_the_engine_keeps_serving(basic, bomb):
    tampered = replace_in_spec(basic.spec_json, "prepared = True", bomb)
    with pytest.raises(ScriptFailed) as info:
        start_workflow(tampered, START_DATA, NOW)
    assert info.value.element_id == "prepare"
    assert start_workflow(basic.spec_json, START_DATA, NOW).tasks  # the same process serves the next case
    assert RestrictedEnvironment(NOW).evaluate("1 + 1", {}) == 2
