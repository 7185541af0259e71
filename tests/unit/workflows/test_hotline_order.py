"""The 12345 work order (hotline_order.bpmn) driven through every path, with the status at each step."""

from __future__ import annotations

import pytest
from workflow_driver import CENTRE, KINDS, Case

from app.engine import MessageNotExpected

LEAD, OTHER = 101, 102


def accepted(case: Case) -> Case:
    assert case.status == "registered"
    accept = case.task("accept")
    assert (accept.lane, accept.unit_id, accept.rule) == ("dispatcher", CENTRE, "hotline.centre_intake")
    case.complete("accept", accept_decision="accept", kind=accept.data["kind"])
    assert case.status == "dispatching"
    return case


def dispatched(case: Case, mode: str = "transfer", lead: int | None = LEAD, designated: bool = False,
               assisting: list[int] | None = None) -> Case:
    answers = {"dispatch_mode": mode, "directly_designated": designated}
    if lead is not None:
        answers["lead_unit_id"] = lead
    if assisting is not None:
        answers["assisting_unit_ids"] = assisting
    dispatch = case.task("dispatch")
    assert (dispatch.lane, dispatch.unit_id, dispatch.rule) == ("dispatcher", CENTRE, "hotline.centre_intake")
    return case.complete("dispatch", **answers)


def signed(case: Case, unit: int = LEAD) -> Case:
    sign_for = case.task("sign_for")
    assert (sign_for.lane, sign_for.unit_id, sign_for.rule, sign_for.status) == (
        "handler", unit, "hotline.accept", "handling")
    return case.complete("sign_for", sign_note="已签收")


def replied(case: Case) -> Case:
    case.complete("handle", handle_action="reply", handling_notes="已现场处理")
    assert case.ready == ["reply"] and case.status == "handling"
    case.complete("reply", reply_outcome="support", reply_opinion="问题已解决。")
    assert case.ready == ["follow_up"] and case.status == "follow_up"
    follow_up = case.task("follow_up")
    assert (follow_up.lane, follow_up.unit_id) == ("agent", CENTRE)
    return case


def satisfied(case: Case, satisfaction: str = "satisfied") -> Case:
    case.complete("follow_up", satisfaction=satisfaction, resolved=True, follow_up_method="phone")
    assert case.finished
    assert case.status == "archived"
    assert case.data["closed"] is True
    return case


def test_a_transferred_order_is_signed_for_handled_replied_followed_up_and_archived(case) -> None:
    c = dispatched(accepted(case("hotline_order")))
    assert c.status == "handling"
    signed(c)
    handle = c.task("handle")
    assert (handle.lane, handle.unit_id, handle.rule) == ("handler", LEAD, "hotline.complaint")
    satisfied(replied(c))
    assert c.data["handling_outcome"] == "replied"
    assert c.data["reopen_count"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_the_handling_deadline_rule_follows_the_kind(case, kind: str) -> None:
    c = signed(dispatched(accepted(case("hotline_order", kind=kind))))
    assert c.task("handle").rule == f"hotline.{kind}"


def test_self_handling_skips_sign_for_the_centre_handles_and_may_not_return(case) -> None:
    c = dispatched(accepted(case("hotline_order")), mode="self_handle", lead=None)
    handle = c.task("handle")
    assert c.ready == ["handle"] and handle.unit_id == CENTRE
    c.complete("handle", handle_action="return", return_reason="不是我们的")
    assert c.ready == ["handle"]
    assert c.task("handle").data["return_refused"] is True
    satisfied(replied(c))


def test_an_assigned_order_needs_a_leader_instruction_and_a_report_before_the_reply(case) -> None:
    c = dispatched(accepted(case("hotline_order")), mode="assign")
    instruct = c.task("instruct")
    assert (c.ready, instruct.lane, instruct.unit_id, c.status) == (["instruct"], "leader", CENTRE, "approving")
    c.complete("instruct", instruction="请区住建局三日内处理并报告结果。")
    signed(c)
    c.complete("handle", handle_action="reply", handling_notes="已处理")
    report = c.task("report")
    assert (c.ready, report.lane, report.unit_id, c.status) == (["report"], "handler", LEAD, "handling")
    c.complete("report", report_content="已按批示处理完毕。")
    assert c.ready == ["reply"]
    c.complete("reply", reply_outcome="explain", reply_opinion="已解释说明。")
    satisfied(c, "basically_satisfied")


def test_a_co_handled_order_gets_parallel_input_from_each_assisting_unit_then_the_lead_consolidates(case) -> None:
    c = signed(dispatched(accepted(case("hotline_order")), mode="co_handle", assisting=[201, 202]))
    inputs = [h for h in c.tasks if h.spec == "assisting_input"]
    assert sorted(h.unit_id for h in inputs) == [201, 202]
    assert all(h.lane == "handler" and h.status == "handling" and h.rule == "hotline.complaint" for h in inputs)
    c.complete("assisting_input", task_id=inputs[1].id, assisting_opinion="202 的意见")
    assert c.ready == ["assisting_input"]
    c.complete("assisting_input", task_id=inputs[0].id, assisting_opinion="201 的意见")
    consolidate = c.task("consolidate")
    assert (c.ready, consolidate.unit_id) == (["consolidate"], LEAD)
    assert sorted(consolidate.data["assisting_inputs"], key=lambda i: i["unit_id"]) == [
        {"unit_id": 201, "opinion": "201 的意见"}, {"unit_id": 202, "opinion": "202 的意见"}]
    c.complete("consolidate", consolidated_opinion="两单位意见一致。")
    assert c.ready == ["handle"]
    satisfied(replied(c))


def test_an_accepted_return_goes_back_to_dispatch_and_the_new_unit_signs_for_it(case) -> None:
    c = signed(dispatched(accepted(case("hotline_order"))))
    c.complete("handle", handle_action="return", return_reason="属于区水务局职责")
    review = c.task("review_return")
    assert (c.ready, review.lane, review.unit_id, c.status) == (["review_return"], "dispatcher", CENTRE, "approving")
    c.complete("review_return", return_review="accept", return_review_opinion="同意，改派水务局。")
    assert c.ready == ["dispatch"] and c.status == "dispatching"
    data = c.task("dispatch").data
    assert (data["lead_unit_id"], data["returned_from_unit_id"], data["return_count"]) == (None, LEAD, 1)
    signed(dispatched(c, lead=OTHER), unit=OTHER)
    satisfied(replied(c))


def test_a_refused_return_sends_the_case_back_to_the_unit(case) -> None:
    c = signed(dispatched(accepted(case("hotline_order"))))
    c.complete("handle", handle_action="return", return_reason="不是我们的")
    c.complete("review_return", return_review="refuse", return_review_opinion="属于你单位职责。")
    assert c.ready == ["handle"] and c.task("handle").unit_id == LEAD and c.status == "handling"
    satisfied(replied(c))


def test_a_directly_designated_unit_may_not_return_the_case(case) -> None:
    c = signed(dispatched(accepted(case("hotline_order")), designated=True))
    c.complete("handle", handle_action="return", return_reason="不是我们的")
    assert c.ready == ["handle"]
    data = c.task("handle").data
    assert (data["return_refused"], data["return_refused_reason"]) == (True, "directly_designated")
    satisfied(replied(c))


def test_an_approved_extension_carries_the_days_and_handling_continues(case) -> None:
    c = signed(dispatched(accepted(case("hotline_order"))))
    c.complete("handle", handle_action="extend", requested_extension_days=5, extension_reason="需现场勘查")
    approve = c.task("approve_extension")
    assert (c.ready, approve.lane, approve.unit_id, c.status) == (["approve_extension"], "leader", LEAD, "approving")
    c.complete("approve_extension", extension_decision="approve", approved_extension_days=3, extension_opinion="同意")
    assert c.ready == ["handle"]
    assert (c.task("handle").data["extension_days"], c.task("handle").data["extension_count"]) == (3, 1)
    satisfied(replied(c))


def test_a_refused_extension_goes_back_to_handling_without_days(case) -> None:
    c = signed(dispatched(accepted(case("hotline_order"))))
    c.complete("handle", handle_action="extend", requested_extension_days=5, extension_reason="需现场勘查")
    c.complete("approve_extension", extension_decision="refuse", extension_opinion="不同意")
    assert c.ready == ["handle"]
    assert c.task("handle").data["extension_days"] == 0


def test_supervision_three_times_each_needs_written_feedback_while_handling_continues(case) -> None:
    c = signed(dispatched(accepted(case("hotline_order"))))
    with pytest.raises(MessageNotExpected):
        case("hotline_order").supervise(notice="受理前不能督办")
    for n in (1, 2):
        c.supervise(notice=f"第{n}次督办")
    feedback = [h for h in c.tasks if h.spec == "supervision_feedback"]
    assert c.ready == ["handle", "supervision_feedback", "supervision_feedback"]
    assert all((h.lane, h.unit_id, h.status) == ("handler", LEAD, "handling") for h in feedback)
    assert sorted(h.data["supervision"]["notice"] for h in feedback) == ["第1次督办", "第2次督办"]
    c.complete("supervision_feedback", task_id=feedback[0].id, supervision_feedback="已加快办理。")
    c.supervise(notice="第3次督办")
    assert c.ready == ["handle", "supervision_feedback", "supervision_feedback"]
    for h in [h for h in c.tasks if h.spec == "supervision_feedback"]:
        c.complete("supervision_feedback", task_id=h.id, supervision_feedback="已书面反馈。")
    assert c.ready == ["handle"] and c.status == "handling"
    replied(c)
    with pytest.raises(MessageNotExpected):
        c.supervise(notice="答复后不能督办")
    satisfied(c)


def test_an_unsatisfied_follow_up_reopens_handling_once_then_the_order_closes(case) -> None:
    c = replied(signed(dispatched(accepted(case("hotline_order")))))
    c.complete("follow_up", satisfaction="unsatisfied", resolved=False)
    assert c.ready == ["sign_for"] and c.status == "handling"
    assert c.task("sign_for").data["reopen_count"] == 1
    replied(signed(c))
    satisfied(c, "unsatisfied")
    assert c.data["reopen_count"] == 1 and c.data["satisfaction"] == "unsatisfied"


def test_a_rejection_approved_by_the_leader_ends_as_not_accepted(case) -> None:
    c = case("hotline_order")
    c.complete("accept", accept_decision="reject", kind="complaint", rejection_reason="litigation",
               rejection_note="已进入诉讼程序，请依法通过诉讼途径解决。")
    approve = c.task("approve_rejection")
    assert (c.ready, approve.lane, approve.unit_id, c.status) == (["approve_rejection"], "leader", CENTRE, "approving")
    c.complete("approve_rejection", rejection_approval="approve", approval_opinion="同意")
    assert c.finished and c.status == "rejected"
    assert c.data["rejection_reason"] == "litigation"


def test_a_rejection_refused_by_the_leader_goes_back_to_acceptance(case) -> None:
    c = case("hotline_order")
    c.complete("accept", accept_decision="reject", kind="complaint", rejection_reason="out_of_scope",
               rejection_note="不属于受理范围。")
    c.complete("approve_rejection", rejection_approval="refuse", approval_opinion="属于受理范围，应受理。")
    assert c.ready == ["accept"] and c.status == "registered"
    satisfied(replied(signed(dispatched(accepted(c)))))


def test_a_duplicate_is_merged_into_its_original_without_dispatch(case) -> None:
    c = case("hotline_order", duplicate_of=3)
    assert c.finished and c.status == "closed"
    assert c.data["dedupe_result"] == "duplicate"
