"""The accuser of a 举报: the unit it reaches (it may be the unit reported on) sees nothing of their ID number
or address, on the page, in the API and in the printed PDF; the registering unit still sees them masked."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Unit
from app.services import intake, tasks
from app.services.cases import RequesterInput
from app.services.documents import document_pdf
from tests.conftest import DEMO_PASSWORD, Auth
from tests.integration.test_documents import actor, pdf_text, ready_task

ID_NUMBER = "11010519491231002X"
ADDRESS = "北京市东城区和平里七区12号楼"


def _reported_to_cgj(platform, kind: str = "report") -> int:  # type: ignore[no-untyped-def]
    """A 举报 (or a complaint, for contrast) with ID number and address, accepted and transferred to 市城管局."""
    case = intake.register_case(platform, actor(platform, "agent01"), intake.CaseInput(
        kind=kind, channel="phone", subject="举报违规收费", content="某单位乱收费。", category="城乡建设/物业管理",
        requester=RequesterInput(name="孙先生", phone="13812345678", id_number=ID_NUMBER, address=ADDRESS)))
    dispatcher = actor(platform, "dispatch01")
    tasks.complete_task(platform, dispatcher, ready_task(platform, case["id"], "accept"),
                        {"accept_decision": "accept", "kind": kind})
    with platform.db.reading() as session:
        cgj = session.scalar(select(Unit.id).where(Unit.code == "cgj"))
    tasks.complete_task(platform, dispatcher, ready_task(platform, case["id"], "dispatch"),
                        {"dispatch_mode": "transfer", "lead_unit_id": cgj, "directly_designated": False})
    return int(case["id"])


def _api_requester(client, staff_no: str, case_id: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    token = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": DEMO_PASSWORD}).get_json()
    answer = client.get(f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {token['token']}"})
    assert answer.status_code == 200
    return answer.get_json()["requester"]  # type: ignore[no-any-return]


def test_the_unit_a_report_reaches_sees_nothing_of_the_accusers_id_number_or_address(client, demo, auth: Auth,
                                                                                        tmp_path):
    case_id = _reported_to_cgj(demo)

    handler = _api_requester(client, "cg01", case_id)
    registering = _api_requester(client, "agent01", case_id)
    auth.login("cg01")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    printed = pdf_text(document_pdf(demo, actor(demo, "cg01"), case_id, "transfer_form").pdf, tmp_path)

    assert (handler["id_number"], handler["address"], handler["protected"]) == (None, None, True)
    assert handler["phone"] == "138****5678" and handler["name"] == "孙**"
    assert (registering["id_number"], registering["address"]) == ("110105********002X", "北京市东城区****")
    for shown in (page, printed):
        assert "110105" not in shown and "002X" not in shown and "北京市东城" not in shown
        assert "举报人信息受保护" in shown
    assert "显示完整信息</button>" not in page


def test_a_complaint_handled_by_the_same_unit_keeps_the_usual_masks(client, demo, tmp_path):
    case_id = _reported_to_cgj(demo, kind="complaint")

    handler = _api_requester(client, "cg01", case_id)
    printed = pdf_text(document_pdf(demo, actor(demo, "cg01"), case_id, "transfer_form").pdf, tmp_path)

    assert (handler["id_number"], handler["address"], handler["protected"]) == ("110105********002X",
                                                                               "北京市东城区****", False)
    assert "举报人信息受保护" not in printed
