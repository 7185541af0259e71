"""A definition tampered with around deploy runs into an incident an administrator can see, never into the attack."""

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from app.models import Case, HumanTask, ProcessDefinition, WorkflowState
from app.services.actors import SYSTEM

ATTACK = "open({path!r}, 'w').write('pwned')\nlead_unit_id = lead_unit_id"


def token(client, staff_no):
    response = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": "Huiyin@2026"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def tamper_latest_hotline_order(platform, script: str, task: str = "prepare_dispatch") -> None:
    """What an attacker with database access would do: a new version whose dispatch script (or `task`'s)
    is replaced, e.g. by one that opens a file."""
    with platform.db.unit_of_work() as session:
        good = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "hotline_order")
                              .order_by(ProcessDefinition.version.desc()).limit(1))
        spec = json.loads(good.spec_json)
        spec["spec"]["task_specs"][task]["script"] = script
        spec_json = json.dumps(spec)
        session.add(ProcessDefinition(key=good.key, version=good.version + 1, name=good.name, bpmn_xml=good.bpmn_xml,
                                      spec_json=spec_json, forms_json=good.forms_json,
                                      checksum=hashlib.sha256(spec_json.encode()).hexdigest(),
                                      deployed_by_id=None, deployed_at=good.deployed_at))
        session.commit()


def ready_task(client, headers, name):
    items = client.get("/api/v1/tasks", headers=headers).get_json()["items"]
    return next(t for t in items if t["task"] == name)


def test_a_tampered_script_stops_the_step_flags_the_case_and_never_runs(client, demo, tmp_path: Path):
    target = tmp_path / "pwned"
    tamper_latest_hotline_order(demo, ATTACK.format(path=str(target)))
    agent, dispatcher, admin = token(client, "agent01"), token(client, "dispatch01"), token(client, "sysadmin")
    case = client.post("/api/v1/cases", headers=agent, json={
        "kind": "complaint", "channel": "phone", "subject": "占道经营", "content": "夜市占道",
        "requester": {"name": "张三", "phone": "13812345678"}}).get_json()
    accept = ready_task(client, dispatcher, "accept")
    assert client.post(f"/api/v1/tasks/{accept['id']}/complete", headers=dispatcher,
                       json={"data": {"accept_decision": "accept", "kind": "complaint"}}).status_code == 200
    dispatch = ready_task(client, dispatcher, "dispatch")
    response = client.post(f"/api/v1/tasks/{dispatch['id']}/complete", headers=dispatcher, json={"data": {
        "dispatch_mode": "transfer", "lead_unit_id": 2, "directly_designated": False}})

    assert response.status_code == 500
    assert response.get_json()["code"] == "process_incident"
    assert "异常件" in response.get_json()["message"]
    assert not target.exists(), "the attack must never run"
    # The step rolled back whole: the dispatch task still waits, and the case is listed for administrators.
    assert ready_task(client, dispatcher, "dispatch")["id"] == dispatch["id"]
    incidents = client.get("/api/v1/incidents", headers=admin).get_json()["items"]
    assert [i["case_id"] for i in incidents] == [case["id"]]
    with demo.db.reading() as session:
        assert session.get(WorkflowState, case["id"]).incident
    assert client.get("/api/v1/incidents", headers=dispatcher).status_code == 403
    timeline = client.get(f"/api/v1/cases/{case['id']}", headers=dispatcher).get_json()["timeline"]
    assert "case.incident" in [e["action"] for e in timeline]


def test_a_task_for_a_unit_that_does_not_exist_is_an_incident_not_a_lost_task(client, demo):
    tamper_latest_hotline_order(demo, "lead_unit_id = 99999")
    agent, dispatcher = token(client, "agent01"), token(client, "dispatch01")
    client.post("/api/v1/cases", headers=agent, json={
        "kind": "complaint", "channel": "phone", "subject": "占道经营", "content": "夜市占道",
        "requester": {"name": "张三", "phone": "13812345678"}})
    accept = ready_task(client, dispatcher, "accept")
    client.post(f"/api/v1/tasks/{accept['id']}/complete", headers=dispatcher,
                json={"data": {"accept_decision": "accept", "kind": "complaint"}})
    dispatch = ready_task(client, dispatcher, "dispatch")
    response = client.post(f"/api/v1/tasks/{dispatch['id']}/complete", headers=dispatcher, json={"data": {
        "dispatch_mode": "transfer", "lead_unit_id": 2, "directly_designated": False}})
    assert response.status_code == 500 and response.get_json()["details"]["reason"] == "unit 99999"
    assert ready_task(client, dispatcher, "dispatch")["id"] == dispatch["id"]


BROKEN_START = "dedupe_result = undefined_name + 1"  # what deploy now refuses, inserted behind its back


def register(client, headers):
    response = client.post("/api/v1/cases", headers=headers, json={
        "kind": "complaint", "channel": "phone", "subject": "占道经营", "content": "夜市占道",
        "requester": {"name": "张三", "phone": "13812345678"}})
    return response


def redeploy_good_hotline_order(platform) -> None:
    """The administrator's fix: the stock definition deployed again as the newest version."""
    from app.services import definitions

    with platform.db.unit_of_work() as session:
        bpmn, forms = definitions.stock_files()
        library = {name: data for name, data in bpmn.items() if name != "hotline_order.bpmn"}
        definitions.store(session, platform, SYSTEM,
                          definitions.validate(session, bpmn["hotline_order.bpmn"], forms, library))
        session.commit()


def test_a_registration_whose_process_fails_to_start_keeps_the_case_as_an_incident(client, demo, auth):
    tamper_latest_hotline_order(demo, BROKEN_START, task="dedupe")
    agent, admin = token(client, "agent01"), token(client, "sysadmin")
    response = register(client, agent)

    assert response.status_code == 201, response.get_json()  # the appeal is registered, never lost
    case = response.get_json()
    assert case["number"] and case["query_code"]
    with demo.db.reading() as session:
        stored = session.get_one(Case, case["id"])
        assert (stored.subject, stored.requester.name) == ("占道经营", "张三")
        assert session.get_one(WorkflowState, case["id"]).incident
        assert session.scalars(select(HumanTask).where(HumanTask.case_id == case["id"])).all() == []
    incidents = client.get("/api/v1/incidents", headers=admin).get_json()["items"]
    assert [i["case_id"] for i in incidents] == [case["id"]]
    assert "dedupe" in incidents[0]["incident"] and "undefined_name" in incidents[0]["incident"]
    timeline = client.get(f"/api/v1/cases/{case['id']}", headers=token(client, "dispatch01")).get_json()["timeline"]
    assert {"case.registered", "case.incident"} <= {e["action"] for e in timeline}
    auth.login("sysadmin")
    assert case["number"] in client.get("/admin/incidents").get_data(as_text=True)


def test_a_start_whose_first_task_names_an_unknown_unit_keeps_the_case_with_nothing_half_written(client, demo):
    # 受理 is given to a unit that does not exist
    tamper_latest_hotline_order(demo, "dedupe_result = 'new'\ncentre_unit_id = 99999", task="dedupe")
    response = register(client, token(client, "agent01"))

    assert response.status_code == 201, response.get_json()
    case_id = response.get_json()["id"]
    with demo.db.reading() as session:
        state = session.get_one(WorkflowState, case_id)
        assert "unit 99999" in state.incident and state.serializer_version == "unstarted"
        assert session.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).all() == []
        assert session.get_one(Case, case_id).due_at is None
    incidents = client.get("/api/v1/incidents", headers=token(client, "sysadmin")).get_json()["items"]
    assert [i["case_id"] for i in incidents] == [case_id]


def test_an_unstarted_incident_cannot_be_supervised_and_says_why(client, demo):
    tamper_latest_hotline_order(demo, BROKEN_START, task="dedupe")
    case = register(client, token(client, "agent01")).get_json()

    refused = client.post(f"/api/v1/cases/{case['id']}/supervise", json={"note": "请尽快办理"},
                          headers=token(client, "leader01"))
    assert refused.status_code == 409, refused.get_json()
    assert "异常件" in refused.get_json()["message"]


def test_an_unstarted_incident_is_retried_on_the_fixed_definition_over_the_api(client, demo):
    tamper_latest_hotline_order(demo, BROKEN_START, task="dedupe")
    agent, admin, dispatcher = token(client, "agent01"), token(client, "sysadmin"), token(client, "dispatch01")
    case = register(client, agent).get_json()

    still_broken = client.post(f"/api/v1/incidents/{case['id']}/retry", headers=admin)
    assert still_broken.status_code == 500 and still_broken.get_json()["code"] == "process_incident"
    assert [i["case_id"] for i in client.get("/api/v1/incidents", headers=admin).get_json()["items"]] == [case["id"]]
    assert client.post(f"/api/v1/incidents/{case['id']}/retry", headers=dispatcher).status_code == 403

    redeploy_good_hotline_order(demo)
    retried = client.post(f"/api/v1/incidents/{case['id']}/retry", headers=admin)
    assert retried.status_code == 200, retried.get_json()
    assert client.get("/api/v1/incidents", headers=admin).get_json()["items"] == []
    assert ready_task(client, dispatcher, "accept")["case_id"] == case["id"]  # the case now runs as any other
    timeline = client.get(f"/api/v1/cases/{case['id']}", headers=dispatcher).get_json()["timeline"]
    assert "case.incident_retried" in [e["action"] for e in timeline]


def test_the_cli_retries_an_unstarted_incident_once_the_definition_is_fixed(app, client, demo):
    tamper_latest_hotline_order(demo, BROKEN_START, task="dedupe")
    case = register(client, token(client, "agent01")).get_json()
    listed = app.test_cli_runner().invoke(args=["incidents", "list"])
    assert listed.exit_code == 0 and case["number"] in listed.output

    redeploy_good_hotline_order(demo)
    retried = app.test_cli_runner().invoke(args=["incidents", "retry", str(case["id"])])
    assert retried.exit_code == 0, retried.output
    assert "当前状态" in retried.output
    assert case["number"] not in app.test_cli_runner().invoke(args=["incidents", "list"]).output
    with demo.db.reading() as session:
        assert [t.spec_name for t in session.scalars(select(HumanTask).where(HumanTask.case_id == case["id"]))] \
            == ["accept"]


def test_the_cli_retry_of_a_failed_step_clears_the_incident_and_the_step_waits_again(app, client, demo):
    tamper_latest_hotline_order(demo, "lead_unit_id = 99999")
    agent, dispatcher = token(client, "agent01"), token(client, "dispatch01")
    case = register(client, agent).get_json()
    accept = ready_task(client, dispatcher, "accept")
    client.post(f"/api/v1/tasks/{accept['id']}/complete", headers=dispatcher,
                json={"data": {"accept_decision": "accept", "kind": "complaint"}})
    dispatch = ready_task(client, dispatcher, "dispatch")
    failed = client.post(f"/api/v1/tasks/{dispatch['id']}/complete", headers=dispatcher, json={"data": {
        "dispatch_mode": "transfer", "lead_unit_id": 2, "directly_designated": False}})
    assert failed.status_code == 500
    assert case["number"] in app.test_cli_runner().invoke(args=["incidents", "list"]).output

    retried = app.test_cli_runner().invoke(args=["incidents", "retry", str(case["id"])])
    assert retried.exit_code == 0, retried.output
    assert case["number"] not in app.test_cli_runner().invoke(args=["incidents", "list"]).output
    assert ready_task(client, dispatcher, "dispatch")["id"] == dispatch["id"]
