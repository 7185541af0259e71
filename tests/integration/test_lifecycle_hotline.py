"""The 12345 work order driven through the HTTP API on both databases, along every path of the real
workflows/ files: status, due dates from the real calendar and the audit timeline at each step."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from lifecycle_driver import CENTRE_HANDLER, SECOND_ASSISTANT, Api, end_of, unit_ids, working_days_after
from sqlalchemy import func, select

from app import create_app
from app.models import AuditEvent, Case, HumanTask, WorkflowState
from app.services.audit import verify_chain
from tests.conftest import Auth

SIGNED_ON = date(2026, 11, 25)  # the frozen clock's day (a Wednesday)


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


@pytest.fixture
def units(demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return unit_ids(demo)


def accepted(api: Api, **fields) -> int:  # type: ignore[no-untyped-def]
    """A registered complaint accepted by the centre's dispatcher: waiting for 派单."""
    case = api.register(**fields)
    assert case["status"] == "registered"
    api.complete("dispatch01", case["id"], "accept", accept_decision="accept", kind="complaint")
    assert api.case(case["id"])["status"] == "dispatching"
    return int(case["id"])


def transferred(api: Api, units: dict[str, int], unit: str = "cgj", user: str = "cg01", **dispatch) -> int:  # type: ignore[no-untyped-def]
    """Accepted, 转送 to a bureau and signed for there: waiting for 办理."""
    case_id = accepted(api)
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units[unit],
                 directly_designated=dispatch.get("designated", False))
    api.complete(user, case_id, "sign_for", sign_note="已签收")
    return case_id


def replied(api: Api, case_id: int, user: str = "cg01") -> None:
    api.complete(user, case_id, "handle", handle_action="reply", handling_notes="已现场处理")
    api.complete(user, case_id, "reply", reply_outcome="support", reply_opinion="问题已解决。")
    assert api.case(case_id)["status"] == "follow_up"


def archived(api: Api, case_id: int, satisfaction: str = "satisfied") -> dict:  # type: ignore[type-arg]
    api.complete("agent01", case_id, "follow_up", satisfaction=satisfaction, resolved=True,
                 follow_up_method="phone")
    case = api.case(case_id)
    assert (case["status"], case["tasks"], case["due_at"]) == ("archived", [], None)
    return case


def test_a_transferred_complaint_is_signed_for_handled_replied_and_archived_with_its_deadlines(api, units):
    case = api.register()
    detail = api.case(case["id"])
    assert (detail["status"], [t["task"] for t in detail["tasks"]]) == ("registered", ["accept"])
    assert [e["action"] for e in detail["timeline"]] == ["case.registered"]
    assert detail["timeline"][0]["actor"] == "agent01"

    api.complete("dispatch01", case["id"], "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case["id"], "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    sign_for = api.task("cg01", case["id"], "sign_for")
    assert (sign_for["unit_id"], sign_for["due_at"]) == (units["cgj"], end_of(working_days_after(SIGNED_ON, 1)))
    assert api.case(case["id"])["lead_unit"] == "市城管局"

    api.complete("cg01", case["id"], "sign_for", sign_note="已签收")
    handle = api.task("cg01", case["id"], "handle")
    expected = end_of(working_days_after(SIGNED_ON, 15))
    assert expected == "2026-12-16T23:59:59"
    assert handle["due_at"] == expected and api.case(case["id"])["due_at"] == expected
    assert handle["light"] == "green"

    replied(api, case["id"])
    archived(api, case["id"])
    assert api.actions(case["id"]) == [("case.registered", None), ("task.completed", "accept"),
                                       ("task.completed", "dispatch"), ("task.completed", "sign_for"),
                                       ("task.completed", "handle"), ("task.completed", "reply"),
                                       ("task.completed", "follow_up")]
    last = api.case(case["id"])["timeline"][-1]
    assert (last["actor"], last["detail"]["data"]["satisfaction"]) == ("agent01", "satisfied")


def test_a_case_runs_to_its_close_on_its_compacted_engine_state_and_the_audit_chain_verifies(api, units, demo):
    """The stored state leaves out what SpiffWorkflow writes for nearly every task (no `triggered: false`, no
    empty data or delta); restored from that, the case runs to the end and every step is audited."""
    case_id = transferred(api, units)
    with demo.db.reading() as session:
        stored = session.get_one(WorkflowState, case_id).state_json
    assert '"triggered":false' not in stored and '"internal_data":{}' not in stored
    assert len(json.loads(stored)["tasks"]) > 10  # the whole tree is still there, only shorter
    replied(api, case_id)
    archived(api, case_id)
    assert api.actions(case_id)[-3:] == [("task.completed", "handle"), ("task.completed", "reply"),
                                         ("task.completed", "follow_up")]
    assert verify_chain(demo) == []


def test_a_self_handled_order_skips_sign_for_and_the_centre_may_not_return_it(api, units):
    case_id = accepted(api)
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="self_handle", directly_designated=False)
    handle = api.task(CENTRE_HANDLER, case_id, "handle")
    assert handle["unit_id"] == units["centre"]
    assert api.ready(case_id) == ["handle"] and api.case(case_id)["status"] == "handling"
    api.complete(CENTRE_HANDLER, case_id, "handle", handle_action="return", return_reason="不是我们的")
    assert api.ready(case_id) == ["handle"]
    replied(api, case_id, CENTRE_HANDLER)
    archived(api, case_id)


def test_an_assigned_order_needs_the_leaders_instruction_and_a_report(api, units):
    case_id = accepted(api)
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="assign", lead_unit_id=units["cgj"],
                 directly_designated=False)
    assert (api.ready(case_id), api.case(case_id)["status"]) == (["instruct"], "approving")
    assert api.tasks("cg01", case_id, "sign_for") == []
    api.complete("leader01", case_id, "instruct", instruction="请市城管局三日内处理并报告结果。")
    api.complete("cg01", case_id, "sign_for")
    api.complete("cg01", case_id, "handle", handle_action="reply", handling_notes="已处理")
    assert api.ready(case_id) == ["report"]
    api.complete("cg01", case_id, "report", report_content="已按批示处理完毕。")
    api.complete("cg01", case_id, "reply", reply_outcome="explain", reply_opinion="已解释说明。")
    archived(api, case_id, "basically_satisfied")
    timeline = api.case(case_id)["timeline"]
    instruct = next(e for e in timeline if e["detail"].get("task") == "instruct")
    assert instruct["actor"] == "leader01"
    assert instruct["detail"]["data"]["instruction"] == "请市城管局三日内处理并报告结果。"


def test_a_co_handled_order_waits_for_both_assisting_units_then_the_lead_consolidates(api, units):
    case_id = accepted(api)
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="co_handle", lead_unit_id=units["cgj"],
                 assisting_unit_ids=[units["zjj"], units["scjgj"]], directly_designated=False)
    api.complete("cg01", case_id, "sign_for")
    assert api.ready(case_id) == ["assisting_input", "assisting_input"]
    # each assisting unit sees only its own input task, and now sees the case
    assert [t["unit_id"] for t in api.tasks("zj01", case_id, "assisting_input")] == [units["zjj"]]
    assert api.case(case_id, "zj01")["status"] == "handling"
    api.complete("zj01", case_id, "assisting_input", assisting_opinion="住建局意见")
    assert api.ready(case_id) == ["assisting_input"]
    api.complete(SECOND_ASSISTANT, case_id, "assisting_input", assisting_opinion="市监局意见")
    assert api.ready(case_id) == ["consolidate"]
    api.complete("cg01", case_id, "consolidate", consolidated_opinion="两单位意见一致。")
    replied(api, case_id)
    archived(api, case_id)


def test_an_accepted_return_goes_back_to_dispatch_and_the_new_unit_signs_for_it(api, units):
    case_id = transferred(api, units)
    api.complete("cg01", case_id, "handle", handle_action="return", return_reason="属于市住建局职责")
    assert (api.ready(case_id), api.case(case_id)["status"]) == (["review_return"], "approving")
    api.complete("dispatch01", case_id, "review_return", return_review="accept", return_review_opinion="同意改派。")
    assert (api.ready(case_id), api.case(case_id)["status"]) == (["dispatch"], "dispatching")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["zjj"],
                 directly_designated=False)
    assert api.case(case_id)["lead_unit"] == "市住建局"
    api.complete("zj01", case_id, "sign_for")
    replied(api, case_id, "zj01")
    archived(api, case_id)


def test_a_refused_return_sends_the_case_back_to_the_unit(api, units):
    case_id = transferred(api, units)
    api.complete("cg01", case_id, "handle", handle_action="return", return_reason="不是我们的")
    api.complete("dispatch01", case_id, "review_return", return_review="refuse",
                 return_review_opinion="属于你单位职责。")
    assert (api.ready(case_id), api.case(case_id)["status"]) == (["handle"], "handling")
    replied(api, case_id)
    archived(api, case_id)


def test_an_approved_extension_moves_the_handling_due_date_by_the_approved_working_days(api, units):
    case_id = transferred(api, units)
    due = api.task("cg01", case_id, "handle")["due_at"]
    api.complete("cg01", case_id, "handle", handle_action="extend", requested_extension_days=5,
                 extension_reason="需现场勘查")
    assert (api.ready(case_id), api.case(case_id)["status"]) == (["approve_extension"], "approving")
    api.complete("cgleader01", case_id, "approve_extension", extension_decision="approve",
                 approved_extension_days=3, extension_opinion="同意")
    handle = api.task("cg01", case_id, "handle")
    assert due == end_of(working_days_after(SIGNED_ON, 15))
    assert handle["due_at"] == end_of(working_days_after(SIGNED_ON, 15 + 3)), "approved extension not applied"
    replied(api, case_id)
    archived(api, case_id)


def test_a_refused_extension_goes_back_to_handling_with_the_same_due_date(api, units):
    case_id = transferred(api, units)
    due = api.task("cg01", case_id, "handle")["due_at"]
    api.complete("cg01", case_id, "handle", handle_action="extend", requested_extension_days=5,
                 extension_reason="需现场勘查")
    api.complete("cgleader01", case_id, "approve_extension", extension_decision="refuse", extension_opinion="不同意")
    assert api.task("cg01", case_id, "handle")["due_at"] == due
    replied(api, case_id)
    archived(api, case_id)


def test_supervision_three_times_each_asks_the_unit_for_written_feedback(api, units):
    case_id = accepted(api)
    api.supervise(case_id, "受理后派单前不能督办", expect=409)
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    api.complete("cg01", case_id, "sign_for")
    for n in (1, 2, 3):
        assert api.supervise(case_id, f"第{n}次督办")["status"] == "handling"
    feedback = api.tasks("cg01", case_id, "supervision_feedback")
    assert len(feedback) == 3 and {t["unit_id"] for t in feedback} == {units["cgj"]}
    for t in feedback:
        api.complete_id("cg01", t["id"], supervision_feedback="已加快办理并书面反馈。")
    assert api.ready(case_id) == ["handle"]
    replied(api, case_id)
    api.supervise(case_id, "答复后不能督办", expect=409)
    archived(api, case_id)
    actions = [a for a, _ in api.actions(case_id)]
    assert actions.count("case.supervised") == 3
    notes = [e["detail"]["note"] for e in api.case(case_id)["timeline"] if e["action"] == "case.supervised"]
    assert notes == ["第1次督办", "第2次督办", "第3次督办"]
    assert [t for a, t in api.actions(case_id) if t == "supervision_feedback"] == ["supervision_feedback"] * 3


def test_an_unsatisfied_follow_up_reopens_handling_once_then_the_order_closes(api, units):
    case_id = transferred(api, units)
    replied(api, case_id)
    api.complete("agent01", case_id, "follow_up", satisfaction="unsatisfied", resolved=False)
    case = api.case(case_id)
    assert (case["status"], [t["task"] for t in case["tasks"]]) == ("handling", ["sign_for"])
    api.complete("cg01", case_id, "sign_for", sign_note="重办签收")
    replied(api, case_id)
    case = archived(api, case_id, "unsatisfied")
    assert [t for _, t in api.actions(case_id)].count("handle") == 2


def test_a_rejection_approved_by_the_leader_ends_as_not_accepted(api):
    case = api.register()
    api.complete("dispatch01", case["id"], "accept", accept_decision="reject", kind="complaint",
                 rejection_reason="litigation", rejection_note="已进入诉讼程序。")
    assert (api.ready(case["id"]), api.case(case["id"])["status"]) == (["approve_rejection"], "approving")
    api.complete("leader01", case["id"], "approve_rejection", rejection_approval="approve", approval_opinion="同意")
    detail = api.case(case["id"])
    assert (detail["status"], detail["tasks"]) == ("rejected", [])
    assert [t for _, t in api.actions(case["id"])] == [None, "accept", "approve_rejection"]


def test_a_rejection_refused_by_the_leader_goes_back_to_acceptance(api):
    case = api.register()
    api.complete("dispatch01", case["id"], "accept", accept_decision="reject", kind="complaint",
                 rejection_reason="out_of_scope", rejection_note="不属于受理范围。")
    api.complete("leader01", case["id"], "approve_rejection", rejection_approval="refuse", approval_opinion="应受理")
    assert (api.ready(case["id"]), api.case(case["id"])["status"]) == (["accept"], "registered")


def test_bad_task_data_gets_422_with_chinese_field_errors(api, units):
    case_id = transferred(api, units)
    handle = api.task("cg01", case_id, "handle")
    response = api.call("cg01", "POST", f"/tasks/{handle['id']}/complete", json={"data": {"handle_action": "飞走"}})
    assert response.status_code == 422
    body = response.get_json()
    assert "handle_action" in body["details"]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in body["details"].values()), body
    response = api.call("cg01", "POST", f"/tasks/{handle['id']}/complete",
                        json={"data": {"handle_action": "return"}})
    assert response.status_code == 422 and "return_reason" in response.get_json()["details"]
    response = api.call("cg01", "POST", f"/tasks/{handle['id']}/complete", json={})
    assert response.status_code == 422 and response.get_json()["details"] == {"data": "必填项"}
    # nothing happened to the task: it is still ready and works
    assert api.task("cg01", case_id, "handle")["id"] == handle["id"]
    assert [t for _, t in api.actions(case_id)].count("handle") == 0


def test_completing_a_task_twice_gets_409(api, units):
    case_id = accepted(api)
    dispatch = api.task("dispatch01", case_id, "dispatch")
    answers = {"dispatch_mode": "transfer", "lead_unit_id": units["cgj"], "directly_designated": False}
    api.complete_id("dispatch01", dispatch["id"], **answers)
    body = api.complete_id("dispatch01", dispatch["id"], expect=409, **answers)
    assert body["code"] == "conflict"
    assert [t for _, t in api.actions(case_id)].count("dispatch") == 1


def test_another_units_task_is_not_found(api, units):
    case_id = transferred(api, units)
    handle = api.task("cg01", case_id, "handle")
    assert api.call("zj01", "GET", f"/tasks/{handle['id']}").status_code == 404
    assert api.call("zj01", "POST", f"/tasks/{handle['id']}/complete",
                    json={"data": {"handle_action": "reply"}}).status_code == 404
    assert api.call("zj01", "GET", f"/cases/{case_id}").status_code == 404
    assert api.tasks("zj01", case_id, "handle") == []
    own = api.call("cg01", "GET", f"/tasks/{handle['id']}").get_json()
    assert own["may_complete"] is True and own["form"]["title"] == "办理"


def test_reading_another_units_case_is_a_404_like_a_missing_one_and_is_audited(api, units, demo):
    """Fault table row 26: no existence oracle, and the attempt leaves a trace for the inspectors."""
    case_id = transferred(api, units)
    refused, missing = api.call("zj01", "GET", f"/cases/{case_id}"), api.call("zj01", "GET", "/cases/999999")
    assert (refused.status_code, missing.status_code) == (404, 404)
    assert refused.get_json() == missing.get_json()
    with demo.db.reading() as session:
        denied = session.execute(select(AuditEvent.actor, AuditEvent.case_id)
                                 .where(AuditEvent.action == "case.access_denied")).all()
    assert denied == [("zj01", case_id)]


def test_a_retried_registration_with_the_same_idempotency_key_returns_the_same_case(api, demo):
    first = api.register(key="call-20261125-0001")
    again = api.register(key="call-20261125-0001")
    other = api.register(key="call-20261125-0002")
    assert again == first and other["id"] != first["id"]
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 2
        assert session.scalar(select(func.count()).select_from(HumanTask)) == 2


def test_concurrent_retries_with_one_idempotency_key_create_one_case(app, api, demo, test_config, clock):
    token = api.token("agent01")
    apps = [app] + [create_app(test_config, clock=clock) for _ in range(3)]
    body = {"kind": "help", "channel": "phone", "subject": "路灯不亮", "content": "和平里路灯不亮。",
            "requester": {"name": "李四", "phone": "13900139000"}}

    def post(application):  # type: ignore[no-untyped-def]
        response = application.test_client().post("/api/v1/cases", json=body, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": "retry-storm"})
        return response.status_code, response.get_json()

    try:
        with ThreadPoolExecutor(len(apps) * 2) as pool:
            results = list(pool.map(post, apps * 2))
    finally:
        for other in apps[1:]:
            other.extensions["huiyin"].db.dispose()
    assert {status for status, _ in results} == {201}, results
    assert len({body["id"] for _, body in results}) == 1
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_a_complaint_accepted_as_a_consultation_is_one_with_its_handling_period_lists_and_timeline(api, units,
                                                                                                     client):
    case = api.register()  # a complaint about 城乡建设/供水
    api.complete("dispatch01", case["id"], "accept", accept_decision="accept", kind="consultation",
                 category="市场监管/价格投诉")
    detail = api.case(case["id"])
    assert (detail["kind"], detail["category"]) == ("consultation", "市场监管/价格投诉")
    reclassified = [e["detail"] for e in detail["timeline"] if e["action"] == "case.reclassified"]
    assert reclassified == [{"before": {"kind": "complaint", "category": "城乡建设/供水"},
                             "after": {"kind": "consultation", "category": "市场监管/价格投诉"}}]
    api.complete("dispatch01", case["id"], "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    api.complete("cg01", case["id"], "sign_for")
    handle = api.task("cg01", case["id"], "handle")
    assert handle["due_at"] == end_of(working_days_after(SIGNED_ON, 5)), "hotline.consultation: 5 工作日"
    assert [t["case_id"] for t in api.worklist("cg01", kind="consultation")["items"]] == [case["id"]]
    assert api.worklist("cg01", kind="complaint")["items"] == []
    replied(api, case["id"])
    archived(api, case["id"])
    Auth(client).login("dispatch01")
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "受理时改变分类" in page and "投诉 → 咨询" in page and "城乡建设/供水 → 市场监管/价格投诉" in page


def test_a_complaint_found_to_be_a_report_protects_the_accuser_from_then_on(api, demo):
    case = api.register()
    api.complete("dispatch01", case["id"], "accept", accept_decision="accept", kind="report")
    assert api.case(case["id"])["kind"] == "report"
    with demo.db.reading() as session:
        assert session.get_one(Case, case["id"]).sensitivity == "sensitive"


def test_acceptance_into_a_category_the_dictionary_lacks_is_refused_and_changes_nothing(api):
    case = api.register()
    accept = api.task("dispatch01", case["id"], "accept")
    body = api.complete_id("dispatch01", accept["id"], expect=422, accept_decision="accept", kind="consultation",
                           category="不存在/的分类")
    assert "事项分类" in body["details"]["category"]
    detail = api.case(case["id"])
    assert (detail["kind"], detail["category"], api.ready(case["id"])) == ("complaint", "城乡建设/供水", ["accept"])
