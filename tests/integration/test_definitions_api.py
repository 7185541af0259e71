"""Deploying process definitions over the API: a valid one becomes the next version; a script that reaches
outside the sandbox is refused naming its element, and nothing is stored; only a sysadmin may deploy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from lifecycle_driver import Api, deploy, timed_bpmn
from sqlalchemy import select

from app.models import DictionaryEntry, ProcessDefinition, WorkflowState
from app.services.definitions import START_VARIABLES
from tests.loopback import Loopback

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
ATTACKS = [
    "__import__('os').system('id')",
    "().__class__.__base__.__subclasses__()",
    "open('/etc/passwd').read()",
    "getattr(kind, '__class__')",
    "[c for c in ().__class__.__mro__[1].__subclasses__() if c.__name__ == 'Popen']",
]


@pytest.fixture
def api(client) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


def listed(api: Api) -> list[tuple[str, int]]:
    response = api.call("sysadmin", "GET", "/definitions")
    assert response.status_code == 200
    return [(d["key"], d["version"]) for d in response.get_json()["items"]]


def test_a_valid_definition_is_stored_as_the_next_version_of_its_key(api):
    first = deploy(api, timed_bpmn())
    assert first.status_code == 201, first.get_json()
    assert (first.get_json()["key"], first.get_json()["version"]) == ("timed_order", 1)
    second = deploy(api, timed_bpmn(timer='"P3D"'))
    assert (second.status_code, second.get_json()["version"]) == (201, 2)
    assert ("timed_order", 2) in listed(api) and ("hotline_order", 1) in listed(api)


def test_a_stock_process_is_deployed_with_its_library_and_forms(api):
    from io import BytesIO

    forms = [(BytesIO(p.read_bytes()), p.name) for p in sorted((WORKFLOWS.parent / "forms").glob("*.json"))]
    library = [(BytesIO((WORKFLOWS / name).read_bytes()), name) for name in ("co_handle.bpmn", "extension.bpmn")]
    response = api.call("sysadmin", "POST", "/definitions", content_type="multipart/form-data", data={
        "file": (BytesIO((WORKFLOWS / "petition.bpmn").read_bytes()), "petition.bpmn"),
        "forms": forms, "library": library})
    assert response.status_code == 201, response.get_json()
    # the same checksum as the seeded stock version, yet a new version: deploys are explicit
    assert (response.get_json()["key"], response.get_json()["version"]) == ("petition", 2)


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_attack_in_a_condition_is_refused_naming_the_element_and_nothing_is_stored(api, attack):
    before = listed(api)
    response = deploy(api, timed_bpmn(condition=attack))
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    # the gateway that evaluates the condition is named (the flow's id would be a nicety)
    assert body["details"]["element"] in {"decide", "f_guarded"}, body
    assert f"({body['details']['element']})" in body["message"]
    assert listed(api) == before


def test_an_attack_in_a_script_task_is_refused_naming_the_task(api):
    before = listed(api)
    response = deploy(api, timed_bpmn(script="x = open('/etc/passwd').read()"))
    assert (response.status_code, response.get_json()["details"].get("element")) == (422, "mark")
    assert listed(api) == before


def test_a_definition_without_a_file_is_422_in_chinese(api):
    response = api.call("sysadmin", "POST", "/definitions", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and response.get_json()["details"] == {"file": "请上传 BPMN 文件"}


@pytest.mark.parametrize("user", ["dispatch01", "leader01", "cg01"])
def test_only_a_system_administrator_may_deploy_or_list(api, user):
    before = listed(api)
    assert deploy(api, timed_bpmn(), user=user).status_code == 403
    assert api.call(user, "GET", "/definitions").status_code == 403
    assert listed(api) == before


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    listener = Loopback()
    yield listener
    listener.close()


def deploy_with_form(api: Api, form: dict[str, Any]) -> Any:
    """The timed definition with a sign_for.json of our own."""
    return api.call("sysadmin", "POST", "/definitions", content_type="multipart/form-data", data={
        "file": (BytesIO(timed_bpmn()), "timed.bpmn"),
        "forms": [(BytesIO(json.dumps(form).encode()), "sign_for.json")]})


def sign_for_with(**fields: Any) -> dict[str, Any]:
    form = json.loads((WORKFLOWS.parent / "forms" / "sign_for.json").read_text(encoding="utf-8"))
    form["properties"].update(fields)
    return dict(form)


@pytest.mark.parametrize("ref_kind", ["http", "file"])
def test_a_form_with_a_ref_outside_it_is_refused_naming_form_and_pointer(api, loopback, tmp_path, ref_kind):
    target = tmp_path / "secret.json"
    target.write_text('{"type": "string"}')
    before = listed(api)
    ref = loopback.url if ref_kind == "http" else target.as_uri()
    response = deploy_with_form(api, sign_for_with(note={"$ref": ref}))
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["details"]["element"] == "accept"
    assert "sign_for.json" in body["message"] and "/properties/note/$ref" in body["message"]
    assert loopback.hits == [] and listed(api) == before


def test_a_pattern_re2_cannot_run_and_an_oversized_form_are_refused(api):
    refused = deploy_with_form(api, sign_for_with(note={"type": "string", "pattern": r"(a)\1"}))
    assert refused.status_code == 422 and "不是安全的正则表达式" in refused.get_json()["message"]
    deep = deploy_with_form(api, sign_for_with(note=json.loads("[" * 40 + "]" * 40)))
    assert deep.status_code == 422 and "嵌套层数超过 32 层" in deep.get_json()["message"]
    big = deploy_with_form(api, sign_for_with(note={"type": "string", "description": "说" * 100_000}))
    assert big.status_code == 422 and "超过 256 KiB" in big.get_json()["message"]
    assert big.get_json()["details"]["element"] == "accept"


@pytest.mark.parametrize("ref_kind", ["http", "file"])
def test_a_ref_inserted_into_the_database_after_deploy_is_never_retrieved(api, demo, loopback, tmp_path, ref_kind):
    target = tmp_path / "secret.json"
    target.write_text('{"type": "boolean"}')
    ref = loopback.url if ref_kind == "http" else target.as_uri()
    with demo.db.unit_of_work() as session:  # what an attacker with database access would do
        row = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "hotline_order")
                             .order_by(ProcessDefinition.version.desc()).limit(1))
        spec = json.loads(row.spec_json)
        spec["forms"]["accept.json"]["properties"]["accept_note"] = {"$ref": ref}
        spec_json = json.dumps(spec)
        session.add(ProcessDefinition(key=row.key, version=row.version + 1, name=row.name, bpmn_xml=row.bpmn_xml,
                                      spec_json=spec_json, forms_json=row.forms_json,
                                      checksum=hashlib.sha256(spec_json.encode()).hexdigest(),
                                      deployed_by_id=None, deployed_at=row.deployed_at))
        session.commit()
    case = api.register()
    response = api.call("dispatch01", "POST", f"/tasks/{api.task('dispatch01', case['id'], 'accept')['id']}/complete",
                        json={"data": {"accept_decision": "accept", "kind": "complaint", "accept_note": "好"}})
    assert response.status_code == 500 and response.get_json()["code"] == "process_incident"
    assert loopback.hits == []
    assert api.ready(case["id"]) == ["accept"]  # the step rolled back whole; the case waits for an administrator
    incidents = api.call("sysadmin", "GET", "/incidents").get_json()["items"]
    assert [i["case_id"] for i in incidents] == [case["id"]] and "accept.json" in incidents[0]["incident"]


def stock_upload(key: str) -> dict[str, Any]:
    forms = [(BytesIO(p.read_bytes()), p.name) for p in sorted((WORKFLOWS.parent / "forms").glob("*.json"))]
    library = [(BytesIO((WORKFLOWS / name).read_bytes()), name) for name in ("co_handle.bpmn", "extension.bpmn")]
    return {"file": (BytesIO((WORKFLOWS / f"{key}.bpmn").read_bytes()), f"{key}.bpmn"), "forms": forms,
            "library": library}


def test_a_kind_in_the_dictionary_without_its_deadline_rule_refuses_the_deploy(api, demo):
    with demo.db.unit_of_work() as session:
        session.add(DictionaryEntry(kind="kind", code="hotline_only", label="仅热线", sort=99))
        session.commit()
    before = listed(api)
    response = api.call("sysadmin", "POST", "/definitions", content_type="multipart/form-data",
                        data=stock_upload("hotline_order"))
    assert response.status_code == 422, response.get_json()
    assert "hotline.hotline_only" in response.get_json()["message"]
    assert response.get_json()["details"]["element"] in {"handle", "assisting_input", "consolidate"}
    assert listed(api) == before


def test_an_unquoted_timer_and_an_undefined_name_are_refused_at_deploy(api):
    before = listed(api)
    unquoted = deploy(api, timed_bpmn(timer="PT1H"))
    assert unquoted.status_code == 422 and unquoted.get_json()["details"]["element"] == "overdue"
    assert "PT1H" in unquoted.get_json()["message"]
    undefined = deploy(api, timed_bpmn(script="reminded = undefined_name + 1"))
    assert undefined.status_code == 422 and undefined.get_json()["details"]["element"] == "mark"
    assert "undefined_name" in undefined.get_json()["message"]
    assert listed(api) == before


def test_every_start_variable_deploy_assumes_is_put_into_a_new_case(api, demo):
    case = api.register()
    with demo.db.reading() as session:
        state = json.loads(session.get_one(WorkflowState, case["id"]).state_json)
    datas = [task["data"] for task in state["tasks"].values() if "case_id" in task.get("data", {})]
    assert datas and set(START_VARIABLES) <= set(datas[0])


BPMN_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MALFORMED = {  # fault table rows 16, 18, 19: each refused at upload with a reason, nothing deployed
    "not_xml": (b"not xml <<<", "XML 格式错误"),
    "not_bpmn": (BPMN_HEAD + b"<html><body>x</body></html>", "流程定义无效"),
    "no_start_event": (timed_bpmn().replace(b'<bpmn:startEvent id="start">', b'<bpmn:endEvent id="start">')
                       .replace(b"</bpmn:startEvent>", b"</bpmn:endEvent>"), "流程定义无效"),
    "dangling_flow": (timed_bpmn().replace(b'targetRef="decide"', b'targetRef="nowhere"'), "指向不存在的元素 nowhere"),
    "billion_laughs": (BPMN_HEAD + b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>',
                       "DOCTYPE"),
    "nested_5000": (BPMN_HEAD + b"<a>" * 5000 + b"</a>" * 5000, "XML 格式错误"),
    "over_2_mib": (timed_bpmn().replace(b'name="\xe9\x99\x90\xe6\x97\xb6\xe5\xb7\xa5\xe5\x8d\x95"',
                                        b'name="' + b"x" * (3 * 1024 * 1024) + b'"'), "超过 2 MiB"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_upload_is_refused_with_its_reason_and_nothing_is_stored(api, case):
    body, reason = MALFORMED[case]
    before = listed(api)
    response = deploy(api, body)
    assert response.status_code == 422, response.get_json()
    assert reason in response.get_json()["message"]
    assert listed(api) == before


def test_xxe_over_the_api_is_refused_and_fetches_nothing(api, loopback, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>&x;</bpmn:definitions>"
    for doctype in (f'<!DOCTYPE d [<!ENTITY x SYSTEM "{secret.as_uri()}">]>',
                    f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{loopback.url}"> %p;]>',
                    f'<!DOCTYPE d SYSTEM "{loopback.url}">'):
        response = deploy(api, BPMN_HEAD + doctype.encode() + body)
        assert response.status_code == 422 and "DOCTYPE" in response.get_json()["message"]
        assert "TOP-SECRET" not in response.get_data(as_text=True)
    assert loopback.hits == []


def test_a_50_mb_upload_is_refused_before_it_is_read(api):
    before = listed(api)
    response = deploy(api, b"<" + b"x" * (50 * 1024 * 1024))
    assert response.status_code == 413 and response.get_json()["message"]
    assert listed(api) == before
