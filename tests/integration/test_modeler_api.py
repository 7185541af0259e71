"""The server side of the modeler: versions with notes and case counts, a version's files (BPMN, zip), the
deploy checks on a draft, the dry run (no row changes), the diff of two versions, drafts, and moving running
cases to a new version and back — sysadmin only."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from lifecycle_driver import Api, to_sign_for, unit_ids
from modeler_drafts import field_check_form, hotline_xml, with_field_check
from sqlalchemy import func, select

from app.models import Base

STOCK = ("hotline_order", "petition")


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


@pytest.fixture
def units(demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return unit_ids(demo)


def upload(api: Api, path: str, bpmn: bytes, *, forms: dict[str, bytes] | None = None, user: str = "sysadmin",
           name: str = "draft.bpmn", **fields: Any) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(bpmn), name), **fields}
    if forms:
        data["forms"] = [(io.BytesIO(body), form) for form, body in forms.items()]
    return api.call(user, "POST", path, data=data, content_type="multipart/form-data")


def row_counts(platform) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


def deploy_v2(api: Api) -> None:
    response = upload(api, "/definitions", with_field_check(), forms={"field_check.json": field_check_form()},
                      note="签收后增加现场核查")
    assert (response.status_code, response.get_json().get("version")) == (201, 2), response.get_json()


@pytest.mark.parametrize("key", STOCK)
def test_every_stock_definition_round_trips_its_own_download(api, key):
    versions = api.call("sysadmin", "GET", f"/definitions/{key}/versions").get_json()["items"]
    assert versions[0]["version"] == 1
    bpmn = api.call("sysadmin", "GET", f"/definitions/{key}/versions/1/bpmn")
    assert bpmn.status_code == 200 and bpmn.mimetype == "application/xml"
    # The BPMN alone: its forms and call activities come from the latest version of the same key.
    again = upload(api, "/definitions", bpmn.data, note="原样重新部署")
    assert again.status_code == 201, again.get_json()
    assert (again.get_json()["version"], again.get_json()["checksum"]) == (2, versions[0]["checksum"])
    # and its zip (BPMN + forms + library) deploys to the same process too
    packed = api.call("sysadmin", "GET", f"/definitions/{key}/versions/1/zip")
    names = zipfile.ZipFile(io.BytesIO(packed.data)).namelist()
    assert f"{key}.bpmn" in names and any(n.startswith("forms/") for n in names)
    third = upload(api, "/definitions", packed.data, name=f"{key}.zip")
    assert (third.status_code, third.get_json()["checksum"]) == (201, versions[0]["checksum"]), third.get_json()


def test_versions_show_who_when_the_note_and_how_many_cases_run_on_each(api):
    api.register()
    deploy_v2(api)
    items = api.call("sysadmin", "GET", "/definitions/hotline_order/versions").get_json()["items"]
    assert [(i["version"], i["note"], i["cases"], i["deployed_by"]) for i in items] == [
        (2, "签收后增加现场核查", 0, "sysadmin"), (1, "", 1, "system")]
    assert items[0]["deployed_at"].startswith("2026-11-25")


def test_the_check_lists_every_error_on_its_element_with_line_and_column_for_scripts(api):
    broken = hotline_xml().replace('value="hotline.accept"', 'value="no.such_rule"').replace(
        "reopen_count = reopen_count + 1", "reopen_count = open('x')")
    body = upload(api, "/definitions/check", broken.encode()).get_json()
    assert body["ok"] is False
    found = {}
    for error in body["errors"]:
        found.setdefault(error["element"], error)
    assert "时限规则 no.such_rule 不存在" in found["sign_for"]["message"]
    assert (found["reopen"]["line"], found["reopen"]["column"]) == (1, 16)
    assert {w["element"] for w in body["warnings"]} >= {"instruct"}
    assert "forms/accept.json" in body["taken"]  # the forms it named came from version 1
    good = upload(api, "/definitions/check", hotline_xml().encode()).get_json()
    assert (good["ok"], good["errors"], good["key"]) == (True, [], "hotline_order")


def test_the_script_check_answers_line_and_column_as_you_type(api):
    answer = api.call("sysadmin", "POST", "/definitions/check-script",
                      json={"source": "x = 1\ny = __import__('os')", "mode": "exec"}).get_json()
    assert answer["ok"] is False and (answer["errors"][0]["line"], answer["errors"][0]["column"]) == (2, 5)
    assert api.call("sysadmin", "POST", "/definitions/check-script",
                    json={"source": "kind == 'complaint'", "mode": "eval"}).get_json() == {"ok": True, "errors": []}


def test_the_timer_preview_says_it_in_plain_words(api):
    duration = api.call("sysadmin", "POST", "/definitions/timer-preview",
                        json={"kind": "duration", "value": "P3D"}).get_json()
    assert duration["words"].startswith("3 天后") and duration["at"] == "2026-11-28T09:00:00"
    assert duration["expression"] == '"P3D"'
    date = api.call("sysadmin", "POST", "/definitions/timer-preview",
                    json={"kind": "date", "value": '"2026-12-31T17:00:00"'}).get_json()
    assert date["words"] == "2026-12-31 17:00"
    wrong = api.call("sysadmin", "POST", "/definitions/timer-preview", json={"kind": "duration", "value": "P3X"})
    assert wrong.status_code == 422 and "不是有效的时长" in wrong.get_json()["details"]["value"]


def test_the_dry_run_of_hotline_order_shows_each_step_with_its_due_date_and_changes_no_row(api, demo, units):
    api.token("sysadmin")  # signing in writes its rows; the dry run must write none
    before = row_counts(demo)
    answers = {"dispatch": {"dispatch_mode": "transfer", "lead_unit_id": units["cgj"]},
               "handle": {"handle_action": "reply"}, "follow_up": {"satisfaction": "satisfied", "resolved": True}}
    response = upload(api, "/definitions/dry-run", hotline_xml().encode(), answers=json.dumps(answers))
    body = response.get_json()
    assert response.status_code == 200 and body["errors"] == [], body
    steps = [(s["task"], s["lane"], s["unit"], s["status"]) for s in body["steps"]]
    assert steps == [("accept", "dispatcher", "市12345热线中心", "registered"),
                     ("dispatch", "dispatcher", "市12345热线中心", "dispatching"),
                     ("sign_for", "handler", "市城管局", "handling"), ("handle", "handler", "市城管局", "handling"),
                     ("reply", "handler", "市城管局", "handling"),
                     ("follow_up", "agent", "市12345热线中心", "follow_up")]
    sign_for = body["steps"][2]
    assert sign_for["rule"] == "hotline.accept" and sign_for["due_at"] is not None
    assert body["steps"][3]["rule"] == "hotline.complaint" and body["steps"][3]["due_at"] > sign_for["due_at"]
    assert body["stopped_at"]["reason"] == "end" and "end_archived" in body["path"]
    assert body["path"].index("accept") < body["path"].index("sign_for") < body["path"].index("end_archived")
    assert row_counts(demo) == before


def test_a_failing_script_in_a_dry_run_names_its_element_and_a_loop_ends(api):
    failing = hotline_xml().replace("reopen_count = reopen_count + 1", "reopen_count = reopen_count / 0")
    answers = {"dispatch": {"dispatch_mode": "self_handle"}, "handle": {"handle_action": "reply"},
               "follow_up": {"satisfaction": "unsatisfied", "resolved": False}}
    body = upload(api, "/definitions/dry-run", failing.encode(), answers=json.dumps(answers)).get_json()
    assert body["stopped_at"]["reason"] == "error" and body["errors"][0]["element"] == "reopen", body
    assert "除数为零" in body["errors"][0]["message"]
    looping = hotline_xml().replace("reopen_count = reopen_count + 1", "reopen_count = 0")
    body = upload(api, "/definitions/dry-run", looping.encode(), answers=json.dumps(answers)).get_json()
    assert body["stopped_at"]["reason"] in ("max_steps", "error"), body["stopped_at"]
    assert body["errors"], body


def test_a_draft_that_fails_the_deploy_checks_is_not_run(api):
    body = upload(api, "/definitions/dry-run", hotline_xml().replace(
        'value="hotline.accept"', 'value="no.such_rule"').encode()).get_json()
    assert body["steps"] == [] and body["stopped_at"]["reason"] == "invalid"
    assert body["errors"][0]["element"] == "sign_for"


def test_the_dry_run_of_a_new_step_shows_it_with_its_due_date(api, units):
    answers = {"dispatch": {"dispatch_mode": "transfer", "lead_unit_id": units["cgj"]}}
    body = upload(api, "/definitions/dry-run", with_field_check(), forms={"field_check.json": field_check_form()},
                  answers=json.dumps(answers), stop_at="handle").get_json()
    tasks = [s["task"] for s in body["steps"]]
    assert tasks[:4] == ["accept", "dispatch", "sign_for", "field_check"], body
    check = body["steps"][3]
    assert (check["title"], check["unit"], check["rule"]) == ("现场核查", "市城管局", "hotline.complaint")
    assert check["due_at"] is not None and body["stopped_at"] == {"reason": "stop_at", "elements": ["handle"],
                                                                  "label": "停在指定步骤"}


def test_the_diff_of_a_crafted_v2_lists_the_added_task_and_what_changed(api):
    deploy_v2(api)
    body = api.call("sysadmin", "GET", "/definitions/hotline_order/diff", query_string={"from": 1, "to": 2}).get_json()
    assert body["added"] == ["field_check"] and body["removed"] == []
    assert "sign_for" in body["changed"] and "flow" in body["changes"]["sign_for"]["properties"]
    renamed = hotline_xml().replace('name="签收"', 'name="签收确认"').replace(
        'value="hotline.accept"', 'value="hotline.centre_intake"')
    assert upload(api, "/definitions", renamed.encode()).status_code == 201
    body = api.call("sysadmin", "GET", "/definitions/hotline_order/diff", query_string={"from": 1, "to": 3}).get_json()
    change = body["changes"]["sign_for"]
    assert set(change["properties"]) == {"name", "rule"}
    assert (change["from"]["rule"], change["to"]["rule"]) == ("hotline.accept", "hotline.centre_intake")
    # every deploy is audited with the diff from the version before (v2, which led 签收 to 现场核查)
    with api.client.application.extensions["huiyin"].db.reading() as session:
        from app.models import AuditEvent

        detail = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "definition.deployed")
                                 .order_by(AuditEvent.id.desc()).limit(1)).one()
    assert detail["version"] == 3 and detail["diff"]["removed"] == ["field_check"]
    assert detail["diff"]["changed"]["sign_for"] == ["flow", "name", "rule"]


def test_a_case_waiting_at_sign_for_moves_to_v2_and_goes_on_to_the_new_task_and_back(api, units):
    waiting = to_sign_for(api, units)
    signed = to_sign_for(api, units)
    api.complete("cg01", signed, "sign_for", sign_note="已签收")
    due_before = api.task("cg01", waiting, "sign_for")["due_at"]
    deploy_v2(api)
    groups = api.call("sysadmin", "GET", "/definitions/hotline_order/migrations", query_string={"to": 2}).get_json()
    found = {tuple(g["standing"]): g for g in groups["groups"]}
    assert found[("catch_supervise", "sign_for")]["can_migrate"] is True
    assert found[("catch_supervise", "sign_for")]["case_ids"] == [waiting]
    refused = found[("catch_supervise", "handle")]
    assert refused["can_migrate"] is False and "签收（sign_for）" in refused["reason"], refused

    moved = api.call("sysadmin", "POST", "/definitions/hotline_order/migrations", query_string={"to": 2},
                     json={"case_ids": [waiting, signed]}).get_json()["items"]
    assert [(m["case_id"], m["migrated"]) for m in moved] == [(waiting, True), (signed, False)]
    assert "签收（sign_for）" in moved[1]["reason"]
    assert api.task("cg01", waiting, "sign_for")["due_at"] == due_before  # the deadline kept its period
    versions = {i["version"]: i["cases"] for i in api.call(
        "sysadmin", "GET", "/definitions/hotline_order/versions").get_json()["items"]}
    assert versions == {2: 1, 1: 1}

    undone = api.call("sysadmin", "POST", f"/definitions/migrations/{moved[0]['migration_id']}/undo")
    assert undone.status_code == 200 and undone.get_json()["version"] == 1
    assert api.call("sysadmin", "POST", f"/definitions/migrations/{moved[0]['migration_id']}/undo").status_code == 409
    api.complete("cg01", waiting, "sign_for", sign_note="已签收")
    assert api.ready(waiting) == ["handle"]  # back on v1: no 现场核查


def test_a_migrated_case_reaches_the_new_task_on_the_units_worklist(api, units):
    waiting = to_sign_for(api, units)
    deploy_v2(api)
    moved = api.call("sysadmin", "POST", "/definitions/hotline_order/migrations", query_string={"to": 2},
                     json={"case_ids": [waiting]}).get_json()["items"][0]
    assert moved["migrated"] is True, moved
    api.complete("cg01", waiting, "sign_for", sign_note="已签收")
    task = api.task("cg01", waiting, "field_check")
    assert task["title"] == "现场核查" and task["due_at"] is not None
    assert api.call("sysadmin", "POST", f"/definitions/migrations/{moved['migration_id']}/undo").status_code == 409
    api.complete("cg01", waiting, "field_check", checked_on_site=True, site_note="已核实")
    assert api.ready(waiting) == ["handle"]


def test_drafts_are_per_administrator_and_not_live(api):
    assert api.call("sysadmin", "GET", "/definitions/hotline_order/draft").status_code == 404
    saved = api.call("sysadmin", "PUT", "/definitions/hotline_order/draft",
                     json={"bpmn": with_field_check().decode(), "forms": {"field_check.json": {"type": "object"}}})
    assert saved.status_code == 200, saved.get_json()
    draft = api.call("sysadmin", "GET", "/definitions/hotline_order/draft").get_json()
    assert "field_check" in draft["bpmn"] and draft["forms"] == {"field_check.json": {"type": "object"}}
    versions = api.call("sysadmin", "GET", "/definitions/hotline_order/versions").get_json()["items"]
    assert [v["version"] for v in versions] == [1]
    doctype = api.call("sysadmin", "PUT", "/definitions/hotline_order/draft",
                       json={"bpmn": '<!DOCTYPE x [<!ENTITY a "b">]><x/>'})
    assert doctype.status_code == 422
    assert api.call("sysadmin", "DELETE", "/definitions/hotline_order/draft").status_code == 204


CAMUNDA = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="leave" isExecutable="true" camunda:historyTimeToLive="180">
    <bpmn:startEvent id="s"><bpmn:extensionElements><camunda:formData/></bpmn:extensionElements></bpmn:startEvent>
    <bpmn:userTask id="approve" name="审批" camunda:assignee="demo"/>
    %s
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def camunda(extra: str = "") -> bytes:
    return (CAMUNDA % extra).encode("utf-8")


def test_a_definition_from_another_modeler_imports_with_a_list_of_what_was_dropped_or_is_refused(api):
    body = upload(api, "/definitions/import", camunda()).get_json()
    assert {(d["element"], d["part"], d["modeler"]) for d in body["dropped"]} == {
        ("leave", "historyTimeToLive", "Camunda"), ("s", "formData", "Camunda"), ("approve", "assignee", "Camunda")}
    assert "camunda" not in body["bpmn"] and body["key"] == "leave"
    script = '<bpmn:scriptTask id="calc" scriptFormat="javascript"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>'
    refused = upload(api, "/definitions/import", camunda(script))
    assert refused.status_code == 422 and "javascript" in refused.get_json()["message"]
    service = '<bpmn:serviceTask id="mail" camunda:class="org.example.Mail"/>'
    refused = upload(api, "/definitions/import", camunda(service))
    assert refused.status_code == 422 and refused.get_json()["details"]["element"] == "mail"
    assert upload(api, "/definitions/import", b"not xml").status_code == 422


@pytest.mark.parametrize("user", ["dispatch01", "leader01", "cg01", "secadmin"])
def test_only_a_system_administrator_may_use_the_modeler_api(api, user):
    calls = [("GET", "/definitions/hotline_order/versions", {}),
             ("GET", "/definitions/hotline_order/versions/1/bpmn", {}),
             ("GET", "/definitions/hotline_order/versions/1/zip", {}),
             ("GET", "/definitions/hotline_order/diff?from=1&to=1", {}),
             ("GET", "/definitions/hotline_order/migrations?to=1", {}),
             ("POST", "/definitions/hotline_order/migrations?to=1", {"json": {"case_ids": [1]}}),
             ("POST", "/definitions/migrations/1/undo", {}),
             ("GET", "/definitions/hotline_order/draft", {}),
             ("PUT", "/definitions/hotline_order/draft", {"json": {"bpmn": "<x/>"}}),
             ("POST", "/definitions/check-script", {"json": {"source": "x = 1"}}),
             ("POST", "/definitions/timer-preview", {"json": {"kind": "duration", "value": "P1D"}})]
    for method, path, extra in calls:
        assert api.call(user, method, path, **extra).status_code == 403, path
    for path in ("/definitions/check", "/definitions/dry-run", "/definitions/import"):
        assert upload(api, path, hotline_xml().encode(), user=user).status_code == 403, path


WAIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
  <bpmn:process id="timed_wait" name="等待一天" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="l" name="dispatcher"><bpmn:flowNodeRef>accept</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>again</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="accept" name="受理">%(props)s</bpmn:userTask>
    <bpmn:intermediateCatchEvent id="wait" name="等一天">
      <bpmn:timerEventDefinition id="wait_def"><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="again" name="再次受理">%(props)s</bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept"/>
    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="wait"/>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="again"/>
    <bpmn:sequenceFlow id="f4" sourceRef="again" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
PROPS = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" '
         'value="sign_for.json"/><spiffworkflow:property name="unitVariable" value="centre_unit_id"/>'
         '<spiffworkflow:property name="deadlineRule" value="hotline.centre_intake"/>'
         '</spiffworkflow:properties></bpmn:extensionElements>')


def test_a_dry_run_stops_at_a_timer_or_fires_it_on_its_clock(api):
    from modeler_drafts import ROOT

    form = {"sign_for.json": (ROOT / "forms" / "sign_for.json").read_bytes()}
    bpmn = (WAIT % {"props": PROPS}).encode()
    stopped = upload(api, "/definitions/dry-run", bpmn, forms=form).get_json()
    assert [s["task"] for s in stopped["steps"]] == ["accept"], stopped
    assert stopped["stopped_at"]["reason"] == "timer" and stopped["stopped_at"]["elements"] == ["wait"]
    fired = upload(api, "/definitions/dry-run", bpmn, forms=form, fire_timers="1").get_json()
    assert [(s["kind"], s["task"]) for s in fired["steps"]] == [("user", "accept"), ("timer", "wait"),
                                                                 ("user", "again")], fired
    assert fired["steps"][1]["at"] == "2026-11-26T09:00:00" and fired["steps"][2]["at"] > "2026-11-26T09:00:00"
    assert fired["steps"][0]["due_at"] is not None and fired["steps"][2]["due_at"] >= fired["steps"][0]["due_at"]
    assert fired["stopped_at"]["reason"] == "end"


def test_the_properties_panel_gets_its_choices_from_the_server(api):
    body = api.call("sysadmin", "GET", "/definitions/choices", query_string={"key": "hotline_order"}).get_json()
    assert {r["code"] for r in body["roles"]} == {"agent", "handler", "leader", "dispatcher"}
    complaint = next(r for r in body["rules"] if r["key"] == "hotline.complaint")
    assert complaint["legal_basis"] and complaint["limit"].endswith("工作日")
    assert {"code": "handling", "label": "办理中"} in body["statuses"] or any(
        s["code"] == "handling" for s in body["statuses"])
    assert [m["name"] for m in body["messages"]] == ["supervise"]
    assert "lead_unit_id" in body["unit_variables"] and "sign_for.json" in [f["name"] for f in body["forms"]]
    assert api.call("cg01", "GET", "/definitions/choices").status_code == 403


def test_the_console_lists_moves_and_undoes_as_the_api_does(app, api, units):
    waiting = to_sign_for(api, units)
    deploy_v2(api)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["definitions", "migrations", "hotline_order", "--to", "2"])
    assert listed.exit_code == 0 and "签收" in listed.output and "可迁移" in listed.output, listed.output
    moved = runner.invoke(args=["definitions", "migrate", "hotline_order", str(waiting), "--to", "2"])
    assert moved.exit_code == 0 and "已迁移" in moved.output, moved.output
    migration_id = moved.output.split("迁移记录 ")[1].split(")")[0]
    undone = runner.invoke(args=["definitions", "undo-migration", migration_id])
    assert undone.exit_code == 0 and "已回到第 1 版" in undone.output, undone.output
    assert runner.invoke(args=["definitions", "undo-migration", migration_id]).exit_code != 0
