"""最短办理流程 on both databases: a consultation or a thank-you answered at intake (直接答复) closes by the
BPMN's own path — no 受理, no 派单, no task ever — and the requester still gets the reply SMS."""

from __future__ import annotations

import pytest
from lifecycle_driver import Api
from sqlalchemy import func, select

from app.models import HumanTask, SmsMessage


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


def outbox(platform, case_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return list(session.scalars(select(SmsMessage.template).where(SmsMessage.case_id == case_id)
                                    .order_by(SmsMessage.id)))


def test_a_consultation_answered_at_intake_closes_with_no_dispatch_and_the_reply_sms(api, demo):
    case = api.register(kind="consultation", subject="公积金提取", content="租房提取公积金需要什么材料?",
                        direct_reply="携带身份证和租房合同到公积金中心窗口办理,或在网上办理。")
    assert case["status"] == "closed"
    detail = api.case(case["id"])
    assert (detail["tasks"], detail["flags"]) == ([], [])
    assert detail["direct_reply"] == "携带身份证和租房合同到公积金中心窗口办理,或在网上办理。"
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(HumanTask)
                              .where(HumanTask.case_id == case["id"])) == 0, "no task was ever created"
    assert outbox(demo, case["id"]) == ["receipt", "reply"]


def test_a_thank_you_answered_on_the_intake_page_closes_too(api, demo, auth, client):
    auth.login("agent01")
    page = client.get("/intake").get_data(as_text=True)
    assert 'name="direct_reply"' in page
    from tests.conftest import csrf_token_of
    response = client.post("/intake", data={
        "csrf_token": csrf_token_of(page), "kind": "praise", "channel": "phone", "subject": "感谢环卫工人",
        "content": "感谢幸福里小区的环卫工人。", "name": "李四", "phone": "13900139000",
        "direct_reply": "感谢您的肯定,我们将转达。", "request_key": "k-thanks"})
    assert response.status_code == 200, response.get_data(as_text=True)
    with demo.db.reading() as session:
        from app.models import Case
        case = session.scalars(select(Case).where(Case.subject == "感谢环卫工人")).one()
        assert case.status == "closed" and case.closed_at is not None
        assert session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.case_id == case.id)) == 0
    assert outbox(demo, case.id) == ["receipt", "reply"]


def test_a_complaint_or_a_petition_cannot_be_answered_at_intake(api, demo):
    refused = api.register(expect=422, direct_reply="已答复")
    assert "direct_reply" in refused["details"]
    petition = api.register(expect=422, kind="consultation", channel="letter", direct_reply="已答复")
    assert "direct_reply" in petition["details"]
    normal = api.register(kind="consultation")
    assert [t["task"] for t in api.case(normal["id"])["tasks"]] == ["accept"]
