"""Drive a case through the HTTP API (/api/v1) as the demo users would, one bearer token per user.

`Api(client)` signs each user in once (POST /api/v1/auth/token) and sends JSON with their token.
`api.register(...)` posts a case, `api.task(case_id, spec)` finds a ready task of the case in a
user's worklist (GET /api/v1/tasks?task=…), `api.complete(user, case_id, spec, **answers)` completes
it, `api.case(case_id)` reads the case (status, tasks, timeline). Unit ids come from `unit_ids(platform)`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from chinese_calendar import is_workday
from sqlalchemy import select

from app.models import Unit
from app.services.platform import Platform
from tests.conftest import DEMO_PASSWORD

# Who works which task of the stock processes (lane + unit → a demo account).
CENTRE_HANDLER = "zx01"  # the centre's own handler: 自办
SECOND_ASSISTANT = "sj01"  # a handler at 市市场监管局, the second assisting unit of 协办


def unit_ids(platform: Platform) -> dict[str, int]:
    """Unit.code → id."""
    with platform.db.reading() as session:
        return {u.code: u.id for u in session.scalars(select(Unit))}


def working_days_after(start: date, amount: int) -> date:
    """An independent oracle: the day `amount` working days after `start`, from chinese-calendar."""
    day = start
    while amount:
        day = date.fromordinal(day.toordinal() + 1)
        amount -= is_workday(day)
    return day


def end_of(day: date) -> str:
    """The ISO text of 23:59:59 on `day`, as the API shows due times."""
    return datetime(day.year, day.month, day.day, 23, 59, 59).isoformat()


class Api:
    """The JSON API as a set of demo users sees it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self.tokens:
            response = self.client.post("/api/v1/auth/token", json={"staff_no": user, "password": DEMO_PASSWORD})
            assert response.status_code == 201, response.get_json()
            self.tokens[user] = response.get_json()["token"]
        return self.tokens[user]

    def call(self, user: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(user)}", **kwargs.pop("headers", {})}
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def register(self, user: str = "agent01", *, key: str | None = None, expect: int = 201,
                 **fields: Any) -> dict[str, Any]:
        body = {"kind": "complaint", "channel": "phone", "category": "城乡建设/供水", "subject": "小区停水三天",
                "content": "幸福里小区 3 号楼停水三天,物业不予答复。",
                "requester": {"name": "张三", "phone": "13800138000"}}
        body.update(fields)
        response = self.call(user, "POST", "/cases", json=body,
                             headers={"Idempotency-Key": key} if key else {})
        assert response.status_code == expect, response.get_json()
        return dict(response.get_json())

    def case(self, case_id: int, user: str = "dispatch01") -> dict[str, Any]:
        response = self.call(user, "GET", f"/cases/{case_id}")
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json())

    def worklist(self, user: str, **params: Any) -> dict[str, Any]:
        response = self.call(user, "GET", "/tasks", query_string=params)
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json())

    def tasks(self, user: str, case_id: int, spec: str) -> list[dict[str, Any]]:
        """The ready tasks of `spec` on the case in the user's worklist."""
        return [t for t in self.worklist(user, task=spec)["items"] if t["case_id"] == case_id]

    def task(self, user: str, case_id: int, spec: str) -> dict[str, Any]:
        found = self.tasks(user, case_id, spec)
        assert found, f"{user} has no {spec} on case {case_id}; ready: {self.ready(case_id)}"
        return found[0]

    def ready(self, case_id: int) -> list[str]:
        """Spec names of the case's ready tasks, sorted."""
        return sorted(t["task"] for t in self.case(case_id)["tasks"])

    def complete_id(self, user: str, task_id: str, expect: int = 200, **answers: Any) -> dict[str, Any]:
        response = self.call(user, "POST", f"/tasks/{task_id}/complete", json={"data": answers})
        assert response.status_code == expect, (user, task_id, response.get_json())
        return dict(response.get_json())

    def complete(self, user: str, case_id: int, spec: str, expect: int = 200, **answers: Any) -> dict[str, Any]:
        """Find the user's ready `spec` task on the case and complete it with the answers."""
        return self.complete_id(user, self.task(user, case_id, spec)["id"], expect, **answers)

    def supervise(self, case_id: int, note: str, user: str = "leader01", expect: int = 200) -> dict[str, Any]:
        response = self.call(user, "POST", f"/cases/{case_id}/supervise", json={"note": note})
        assert response.status_code == expect, response.get_json()
        return dict(response.get_json())

    def actions(self, case_id: int) -> list[tuple[str, str | None]]:
        """The timeline as (action, task spec) pairs, oldest first."""
        return [(e["action"], (e["detail"] or {}).get("task")) for e in self.case(case_id)["timeline"]]


def to_sign_for(api: Api, units: dict[str, int]) -> int:
    """A new complaint accepted and dispatched to 市城管局: it waits at 签收."""
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    return case_id


def timed_bpmn(key: str = "timed_order", *, timer: str = '"P2D"', condition: str = "True",
               script: str = "reminded = True") -> bytes:
    """A small definition: 受理 (accept) with a non-interrupting 2-day timer that runs a script and asks the
    centre's leader to 催办 (escalate); `condition` guards the path after 受理, `script` is the timer's script."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_{key}" targetNamespace="http://huiyin.example/bpmn">
  <bpmn:process id="{key}" name="限时工单" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_dispatcher" name="dispatcher"><bpmn:flowNodeRef>accept</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_leader" name="leader"><bpmn:flowNodeRef>escalate</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" />
    <bpmn:userTask id="accept" name="受理">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="sign_for.json" />
        <spiffworkflow:property name="unitVariable" value="centre_unit_id" />
        <spiffworkflow:property name="caseStatus" value="registered" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="decide" default="f_default"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_guarded</bpmn:outgoing><bpmn:outgoing>f_default</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="decide" />
    <bpmn:sequenceFlow id="f_guarded" sourceRef="decide" targetRef="end">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_default" sourceRef="decide" targetRef="end" />
    <bpmn:endEvent id="end">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="caseStatus" value="closed" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f_guarded</bpmn:incoming><bpmn:incoming>f_default</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:boundaryEvent id="overdue" name="超时催办" attachedToRef="accept" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="overdue_def"><bpmn:timeDuration>{timer}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="overdue" targetRef="mark" />
    <bpmn:scriptTask id="mark" name="标记超时"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="mark" targetRef="escalate" />
    <bpmn:userTask id="escalate" name="催办">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="sign_for.json" />
        <spiffworkflow:property name="unitVariable" value="centre_unit_id" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f5" sourceRef="escalate" targetRef="escalated" />
    <bpmn:endEvent id="escalated"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def deploy(api: Api, bpmn: bytes, *, user: str = "sysadmin", library: dict[str, bytes] | None = None) -> Any:
    """POST /api/v1/definitions (multipart) with the BPMN file and sign_for.json as its form."""
    from io import BytesIO
    from pathlib import Path

    form = (Path(__file__).resolve().parents[2] / "forms" / "sign_for.json").read_bytes()
    data: dict[str, Any] = {"file": (BytesIO(bpmn), "timed.bpmn"), "forms": [(BytesIO(form), "sign_for.json")]}
    if library:
        data["library"] = [(BytesIO(body), name) for name, body in library.items()]
    return api.call(user, "POST", "/definitions", data=data, content_type="multipart/form-data")
