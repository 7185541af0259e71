"""The 信访件 (petition.bpmn): the shared handling paths, then 复查 → 复核 → 三级终结."""

from __future__ import annotations

from workflow_driver import CENTRE, Case

LEAD, REVIEW_UNIT, RE_REVIEW_UNIT = 101, 301, 401


def replied_and_followed_up(case: Case, mode: str = "transfer", **dispatch) -> Case:
    accept = case.task("accept")
    assert (case.status, accept.rule) == ("registered", "petition.notify")
    case.complete("accept", accept_decision="accept", kind="complaint")
    assert (case.status, case.task("dispatch").rule) == ("dispatching", "petition.forward")
    case.complete("dispatch", dispatch_mode=mode, lead_unit_id=LEAD, directly_designated=False, **dispatch)
    if mode == "assign":
        case.complete("instruct", instruction="请依法处理并报告结果。")
    assert case.task("sign_for").rule == "petition.objection"
    case.complete("sign_for")
    if mode == "co_handle":
        for h in [h for h in case.tasks if h.spec == "assisting_input"]:
            assert h.rule == "petition.handle"
            case.complete("assisting_input", task_id=h.id, assisting_opinion=f"{h.unit_id} 的意见")
        case.complete("consolidate", consolidated_opinion="汇总")
    handle = case.task("handle")
    assert (handle.rule, handle.unit_id, case.status) == ("petition.handle", LEAD, "handling")
    case.complete("handle", handle_action="reply", handling_notes="已调查核实")
    if mode == "assign":
        case.complete("report", report_content="已办结，报告如下。")
    case.complete("reply", reply_outcome="not_support", reply_opinion="诉求缺乏依据，不予支持。",
                  reply_basis="《信访工作条例》第三十二条")
    assert case.status == "follow_up"
    case.complete("follow_up", satisfaction="satisfied", resolved=True)
    request = case.task("request_review")
    assert (case.ready, case.status, request.lane, request.unit_id, request.rule) == (
        ["request_review"], "replied", "dispatcher", CENTRE, "petition.review_request")
    return case


def test_review_then_re_review_ends_the_petition_as_terminated(case) -> None:
    c = replied_and_followed_up(case("petition"))
    c.complete("request_review", review_requested=True, review_unit_id=REVIEW_UNIT,
               review_request_reason="对处理意见不服")
    decision = c.task("review_decision")
    assert (c.status, decision.lane, decision.unit_id, decision.rule) == (
        "reviewing", "handler", REVIEW_UNIT, "petition.review_decision")
    c.complete("review_decision", review_result="uphold", review_opinion="维持原处理意见。")
    request = c.task("request_re_review")
    assert (c.status, request.unit_id, request.rule) == ("replied", CENTRE, "petition.re_review_request")
    c.complete("request_re_review", re_review_requested=True, re_review_unit_id=RE_REVIEW_UNIT,
               re_review_request_reason="对复查意见不服")
    decision = c.task("re_review_decision")
    assert (c.status, decision.unit_id, decision.rule) == (
        "re_reviewing", RE_REVIEW_UNIT, "petition.re_review_decision")
    c.complete("re_review_decision", re_review_result="uphold", re_review_opinion="维持复查意见。")
    assert c.finished and c.status == "terminated"
    assert c.data["terminated"] is True


def test_no_review_requested_closes_and_archives(case) -> None:
    c = replied_and_followed_up(case("petition"))
    c.complete("request_review", review_requested=False)
    assert c.finished and c.status == "archived"
    assert (c.data["terminated"], c.data["closed"]) == (False, True)


def test_review_without_re_review_closes_and_archives(case) -> None:
    c = replied_and_followed_up(case("petition"))
    c.complete("request_review", review_requested=True, review_unit_id=REVIEW_UNIT, review_request_reason="不服")
    c.complete("review_decision", review_result="revise", review_opinion="变更原处理意见。")
    c.complete("request_re_review", re_review_requested=False)
    assert c.finished and c.status == "archived"
    assert c.data["terminated"] is False


def test_an_assigned_petition_is_instructed_and_reported(case) -> None:
    c = replied_and_followed_up(case("petition"), mode="assign")
    assert c.task("request_review").data["report_content"] == "已办结，报告如下。"


def test_a_co_handled_petition_uses_the_shared_call_activity(case) -> None:
    c = replied_and_followed_up(case("petition"), mode="co_handle", assisting_unit_ids=[201, 202])
    assert len(c.task("request_review").data["assisting_inputs"]) == 2


def test_supervision_and_extension_work_inside_petition_handling(case) -> None:
    c = case("petition")
    c.complete("accept", accept_decision="accept", kind="help")
    c.complete("dispatch", dispatch_mode="transfer", lead_unit_id=LEAD, directly_designated=False)
    c.complete("sign_for")
    c.supervise(notice="逾期未办结").supervise(notice="再次督办")
    c.complete("handle", handle_action="extend", requested_extension_days=30, extension_reason="情况复杂")
    c.complete("approve_extension", extension_decision="approve", approved_extension_days=30, extension_opinion="同意")
    assert c.ready == ["handle", "supervision_feedback", "supervision_feedback"]
    assert c.task("handle").data["extension_days"] == 30
