"""事发地点: a case takes where the matter is beside the requester's address, on the API and the intake
page, and shows it on the case page and the 办理转送单. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models import Case, Unit
from app.services import intake
from app.services.cases import RequesterInput
from app.services.documents import document_pdf
from tests.conftest import DEMO_PASSWORD, Auth, csrf_token_of
from tests.integration.test_documents import actor, dispatch, pdf_text

PLACE = "北塘区北塘街道北塘家园5号楼"


def token(client: Any, staff_no: str = "agent01") -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def a_street(demo: Any) -> tuple[int, str]:
    with demo.db.reading() as session:
        unit = session.scalars(select(Unit).where(Unit.kind == "street").order_by(Unit.id)).first()
        assert unit is not None
        return unit.id, unit.name


def test_the_api_stores_and_answers_the_location_and_its_point(client, demo):
    area, _ = a_street(demo)
    body = {"kind": "complaint", "channel": "phone", "subject": "楼道堆物", "content": "5号楼楼道堆满杂物。",
            "location": PLACE, "area": area, "lat": 31.59, "lng": 120.29,
            "requester": {"name": "张三", "phone": "13800138000", "address": "滨湖区蠡湖街道1号"}}
    headers = token(client)
    created = client.post("/api/v1/cases", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    case = client.get(f"/api/v1/cases/{created.get_json()['id']}", headers=headers).get_json()
    assert (case["location"], case["area"], case["point"]) == (PLACE, area, {"lat": 31.59, "lng": 120.29})
    refused = client.post("/api/v1/cases", json=body | {"lng": None}, headers=headers)
    assert refused.status_code == 422 and "lng" in refused.get_json()["details"]


def test_the_intake_page_takes_the_location_and_the_case_page_and_transfer_form_show_it(client, demo,
                                                                                         auth: Auth):
    area, street = a_street(demo)
    auth.login("agent01")
    csrf = csrf_token_of(client.get("/intake").get_data(as_text=True))
    page = client.post("/intake", data={
        "csrf_token": csrf, "request_key": "", "kind": "complaint", "channel": "phone", "subject": "楼道堆物",
        "content": "5号楼楼道堆满杂物。", "name": "张三", "phone": "13800138000", "location": PLACE,
        "area": str(area), "lat": "", "lng": ""})
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    with demo.db.reading() as session:
        case = session.scalars(select(Case).order_by(Case.id.desc())).first()
        assert case is not None and (case.location, case.area_unit_id, case.location_lat) == (PLACE, area, None)
    shown = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert PLACE in shown and street in shown


def test_the_transfer_form_prints_the_location(demo, tmp_path):
    case = intake.register_case(demo, actor(demo, "agent01"), intake.CaseInput(
        kind="complaint", channel="phone", subject="楼道堆物", content="5号楼楼道堆满杂物。", category="环境保护/噪声",
        location=PLACE, requester=RequesterInput(name="张三丰", phone="13812345678", address="滨湖区蠡湖街道1号")))
    dispatch(demo, int(case["id"]))
    text = pdf_text(document_pdf(demo, actor(demo, "cg01"), int(case["id"]), "transfer_form").pdf, tmp_path)
    assert "事发地点" in text and PLACE in text
