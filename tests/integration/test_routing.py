"""派单目录: the rule that proposes the unit on the dispatch page, 试派, and overrides with their reasons."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app.models import AuditEvent, Case
from app.services import tasks
from tests.integration.test_pages import actor, post_form, ready, text_of, unit_id


def token(client: Any, staff_no: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": "Huiyin@2026"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def add_rule(client: Any, headers: dict[str, str], **values: Any) -> Any:
    return client.post("/api/v1/routing/rules", headers=headers, json=values)


def tried(client: Any, headers: dict[str, str], category: str, area: int | None) -> dict[str, Any]:
    response = client.post("/api/v1/routing/try", headers=headers, json={"category": category, "area": area})
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def new_case(client: Any, category: str, area: int | None) -> int:
    body = {"kind": "complaint", "channel": "phone", "category": category, "subject": "停水三天",
            "content": "小区停水三天无人处理。", "requester": {"name": "张三丰", "phone": "13812345678"}}
    if area is not None:
        body["area"] = area
    response = client.post("/api/v1/cases", headers=token(client, "agent01"), json=body)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def accepted(client: Any, demo: Any, category: str, area: int | None) -> int:
    case_id = new_case(client, category, area)
    tasks.complete_task(demo, actor(demo, "dispatch01"), ready(demo, case_id, "accept").id,
                        {"accept_decision": "accept", "kind": "complaint"})
    return case_id


def test_the_most_specific_valid_rule_wins(client, demo, clock):
    admin = token(client, "sysadmin")
    dcq, hpl, xcq = unit_id(demo, "dcq"), unit_id(demo, "dcq.hpl"), unit_id(demo, "xcq")
    zjj, cgj, scj = unit_id(demo, "zjj"), unit_id(demo, "cgj"), unit_id(demo, "scjgj")
    assert add_rule(client, admin, category="城乡建设", lead_unit_id=zjj).status_code == 201
    assert add_rule(client, admin, category="城乡建设/供水", area_unit_id=dcq, lead_unit_id=cgj,
                    mode="via_district").status_code == 201
    assert add_rule(client, admin, category="城乡建设", area_unit_id=hpl, lead_unit_id=hpl).status_code == 201
    today = clock.now().date()
    assert add_rule(client, admin, category="城乡建设/供水", area_unit_id=xcq, lead_unit_id=scj,
                    valid_to=(today - timedelta(days=1)).isoformat()).status_code == 201
    assert add_rule(client, admin, category="城乡建设/供水", area_unit_id=xcq, lead_unit_id=cgj,
                    valid_from=(today + timedelta(days=1)).isoformat()).status_code == 201

    # any area: the category's subtree rule
    anywhere = tried(client, admin, "城乡建设/供水", None)
    assert anywhere["unit_id"] == zjj and anywhere["mode"] == "direct"
    assert anywhere["rule"] == "城乡建设 × 任意区域 → 市住建局"
    # district beats any area; a street inside the district hits the district rule…
    in_district = tried(client, admin, "城乡建设/供水", dcq)
    assert (in_district["final_unit_id"], in_district["mode"]) == (cgj, "via_district")
    assert in_district["unit_id"] == dcq  # 经区县转派: to the district first
    assert in_district["rule"] == "城乡建设/供水 × 东城区 → 市城管局"
    # …unless the street has its own rule: street over district, even for a shallower category
    assert tried(client, admin, "城乡建设/供水", hpl)["unit_id"] == hpl
    assert tried(client, admin, "城乡建设/供暖", dcq)["unit_id"] == zjj
    # an expired rule and one not yet in force are ignored
    assert tried(client, admin, "城乡建设/供水", xcq)["unit_id"] == zjj
    # nothing covers another category
    assert tried(client, admin, "市场监管/食品安全", dcq) == {"unit_id": None, "mode": None, "rule": None,
                                                             "rule_id": None}


def test_an_unknown_unit_or_category_in_a_rule_is_refused_naming_the_field(client, demo):
    admin = token(client, "sysadmin")
    response = add_rule(client, admin, category="城乡建设/供水", lead_unit_id=999999)
    assert response.status_code == 422 and "999999" in response.get_json()["details"]["lead_unit_id"]
    response = add_rule(client, admin, category="城乡建设/供水", lead_unit_id=unit_id(demo, "zjj"),
                        area_unit_id=888888, assisting_unit_ids=[777777])
    details = response.get_json()["details"]
    assert response.status_code == 422 and set(details) == {"area_unit_id", "assisting_unit_ids"}
    response = add_rule(client, admin, category="没有/这类", lead_unit_id=unit_id(demo, "zjj"), valid_from="明天")
    assert response.status_code == 422 and set(response.get_json()["details"]) == {"category", "valid_from"}
    assert client.get("/api/v1/routing/rules", headers=admin).get_json()["items"] == []
    assert add_rule(client, token(client, "dispatch01"), category="城乡建设/供水",
                    lead_unit_id=unit_id(demo, "zjj")).status_code == 403
    response = client.post("/api/v1/routing/try", headers=admin, json={"category": "城乡建设/供水", "area": "东城"})
    assert response.status_code == 422 and "area" in response.get_json()["details"]
    response = new_case_response(client, area=unit_id(demo, "zjj"))  # a bureau is no area
    assert response.status_code == 422 and "area" in response.get_json()["details"]


def new_case_response(client: Any, **extra: Any) -> Any:
    body = {"kind": "complaint", "channel": "phone", "category": "城乡建设/供水", "subject": "停水",
            "content": "停水。", "requester": {"name": "张三丰"}, **extra}
    return client.post("/api/v1/cases", headers=token(client, "agent01"), json=body)


def test_the_dispatch_page_proposes_the_rule_unit_and_an_override_needs_its_reason(app, client, auth, demo):
    admin = token(client, "sysadmin")
    dcq, zjj, cgj = unit_id(demo, "dcq"), unit_id(demo, "zjj"), unit_id(demo, "cgj")
    rule = add_rule(client, admin, category="城乡建设/供水", area_unit_id=dcq, lead_unit_id=zjj).get_json()
    case_id = accepted(client, demo, "城乡建设/供水", unit_id(demo, "dcq.jgh"))
    with demo.db.reading() as session:
        assert session.get_one(Case, case_id).area_unit_id == unit_id(demo, "dcq.jgh")
    auth.login("dispatch01")
    html = client.get("/dispatch").get_data(as_text=True)
    assert "依据派单目录: 城乡建设/供水 × 东城区 → 市住建局" in text_of(client.get("/dispatch"))
    assert f'<option value="{zjj}" selected>' in html  # the lead unit pre-filled…
    assert 'name="dispatch_mode" value="transfer" checked' in html  # …with its mode, for the dispatcher to confirm

    task = ready(demo, case_id, "dispatch")
    other = {"origin": "dispatch", "next": "/dispatch", "dispatch_mode": "transfer", "lead_unit_id": str(cgj)}
    refused = post_form(client, "/dispatch", f"/tasks/{task.id}", other)
    assert refused.status_code == 422 and "请在派单意见中说明理由" in text_of(refused)
    assert ready(demo, case_id, "dispatch").id == task.id  # nothing dispatched
    done = post_form(client, "/dispatch", f"/tasks/{task.id}", {**other, "dispatch_note": "供水管网属城管维护"})
    assert done.status_code == 302
    assert ready(demo, case_id, "sign_for").unit_id == cgj
    with demo.db.reading() as session:
        overrides = session.scalars(select(AuditEvent).where(AuditEvent.action == "routing.overridden")).all()
    assert [(o.detail["rule_id"], o.detail["proposed"], o.detail["reason"]) for o in overrides] == [
        (rule["id"], zjj, "供水管网属城管维护")]
    assert client.get("/api/v1/routing/rules", headers=admin).get_json()["items"][0]["overrides"] == 1
    auth.logout()
    auth.login("leader01")
    assert "城乡建设/供水 × 东城区 → 市住建局 1 次" in text_of(client.get("/leader"))


def test_a_confirmed_proposal_dispatches_without_a_reason(app, client, auth, demo):
    admin = token(client, "sysadmin")
    zjj = unit_id(demo, "zjj")
    add_rule(client, admin, category="城乡建设", lead_unit_id=zjj, valid_from=date(2020, 1, 1).isoformat())
    case_id = accepted(client, demo, "城乡建设/燃气", None)
    auth.login("dispatch01")
    task = ready(demo, case_id, "dispatch")
    response = post_form(client, "/dispatch", f"/tasks/{task.id}", {
        "origin": "dispatch", "next": "/dispatch", "dispatch_mode": "transfer", "lead_unit_id": str(zjj)})
    assert response.status_code == 302 and ready(demo, case_id, "sign_for").unit_id == zjj


def test_via_the_district_proposes_the_district_with_the_final_unit_as_a_note(app, client, auth, demo):
    admin = token(client, "sysadmin")
    dcq, hpl, zjj = unit_id(demo, "dcq"), unit_id(demo, "dcq.hpl"), unit_id(demo, "zjj")
    add_rule(client, admin, category="城乡建设/供水", lead_unit_id=zjj, mode="via_district")
    through = tried(client, admin, "城乡建设/供水", hpl)  # a street: its district passes the case on
    assert (through["unit_id"], through["mode"], through["final_unit_id"]) == (dcq, "via_district", zjj)
    assert through["rule"] == "城乡建设/供水 × 任意区域 → 市住建局"
    assert through["note"] == "经区县转派:派至东城区,由其转派市住建局承办(依据派单目录)"
    nowhere = tried(client, admin, "城乡建设/供水", None)  # no address district: straight to the lead unit
    assert (nowhere["unit_id"], nowhere["final_unit_id"]) == (zjj, None) and "直接派至市住建局" in nowhere["note"]

    case_id = accepted(client, demo, "城乡建设/供水", hpl)
    auth.login("dispatch01")
    page = client.get("/dispatch")
    html = page.get_data(as_text=True)
    assert "经区县转派:派至东城区,由其转派市住建局承办" in text_of(page)
    assert f'<option value="{dcq}" selected>' in html  # the district pre-filled, the final unit in 派单意见
    task = ready(demo, case_id, "dispatch")
    done = post_form(client, "/dispatch", f"/tasks/{task.id}", {
        "origin": "dispatch", "next": "/dispatch", "dispatch_mode": "transfer", "lead_unit_id": str(dcq),
        "dispatch_note": through["note"]})
    assert done.status_code == 302 and ready(demo, case_id, "sign_for").unit_id == dcq  # confirmed: no override
    with demo.db.reading() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "routing.overridden")).all() == []
