"""A definition tampered with around deploy runs into an incident an administrator can see, never into the attack."""

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from app.models import ProcessDefinition, WorkflowState

ATTACK = "open({path!r}, 'w').write('pwned')\nlead_unit_id = lead_unit_id"


def token(client, staff_no):
    response = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": "Huiyin@2026"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def tamper_latest_hotline_order(platform, script: str) -> None:
    """What an attacker with database access would do: a new version whose dispatch script opens a file."""
    with platform.db.unit_of_work() as session:
        good = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "hotline_order")
                              .order_by(ProcessDefinition.version.desc()).limit(1))
        spec = json.loads(good.spec_json)
        spec["spec"]["task_specs"]["prepare_dispatch"]["script"] = script
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
