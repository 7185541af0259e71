"""The 信访件 driven through the HTTP API on both databases: handling, then 复查 → 复核 → 三级终结, after which
the same matter from the same petitioner is refused at intake (信访工作条例 art. 36 ¶3)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from lifecycle_driver import Api, end_of, unit_ids

from app.services import deadline_repair
from app.services.actors import Actor
from app.services.admin import DayEntry, confirm_year

REGISTERED_ON = date(2026, 11, 25)
PETITIONER = {"name": "王五", "phone": "13700137000", "id_number": "11010519491231002X"}


SYSADMIN = Actor(label="sysadmin", permissions=frozenset({"calendar.edit"}))


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


@pytest.fixture
def year_2027(demo) -> None:  # type: ignore[no-untyped-def]
    """2027 confirmed as an administrator would (chinese-calendar 1.11.0 stops at 2026); a 60 日 period
    from late November ends in January 2027, where only 元旦 matters."""
    confirm_year(demo, SYSADMIN, 2027, [DayEntry(date(2027, 1, 1), False, "元旦")], "国务院办公厅通知(测试)")


@pytest.fixture
def units(demo) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return unit_ids(demo)


def petition(api: Api, **fields) -> int:  # type: ignore[no-untyped-def]
    body = {"channel": "letter", "category": "城乡建设/房屋质量", "subject": "新房漏水",
            "content": "新交付住房屋顶漏水,开发商拒不维修。", "requester": PETITIONER, **fields}
    return int(api.register("dispatch01", **body)["id"])


def replied_and_followed_up(api: Api, units: dict[str, int]) -> int:
    case_id = petition(api)
    accept = api.task("dispatch01", case_id, "accept")
    assert accept["due_at"] == end_of(REGISTERED_ON + timedelta(days=15))  # petition.notify: 15 日
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    dispatch = api.task("dispatch01", case_id, "dispatch")
    assert dispatch["due_at"] == end_of(REGISTERED_ON + timedelta(days=15))  # petition.forward: 15 日
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["zjj"],
                 directly_designated=False)
    api.complete("zj01", case_id, "sign_for")
    api.complete("zj01", case_id, "handle", handle_action="reply", handling_notes="已调查核实")
    api.complete("zj01", case_id, "reply", reply_outcome="not_support", reply_opinion="诉求缺乏依据,不予支持。",
                 reply_basis="《信访工作条例》第三十二条")
    assert api.case(case_id)["status"] == "follow_up"
    api.complete("agent01", case_id, "follow_up", satisfaction="unsatisfied", resolved=False)
    # the reopen (重办) goes round once more before the petition is answered
    api.complete("zj01", case_id, "sign_for")
    api.complete("zj01", case_id, "handle", handle_action="reply", handling_notes="重新核实")
    api.complete("zj01", case_id, "reply", reply_outcome="explain", reply_opinion="已解释说明。")
    api.complete("agent01", case_id, "follow_up", satisfaction="basically_satisfied", resolved=True)
    assert (api.ready(case_id), api.case(case_id)["status"]) == (["request_review"], "replied")
    return case_id


def test_a_period_running_into_an_unconfirmed_year_waits_without_a_guess_until_the_year_is_confirmed(
        api, units, demo):
    case_id = petition(api)
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["zjj"],
                 directly_designated=False)
    api.complete("zj01", case_id, "sign_for")
    handle = api.task("zj01", case_id, "handle")
    assert handle["due_at"] is None, "60 日 from 2026-11-25 ends in 2027, which nobody has confirmed yet"
    timeline = [e for e in api.case(case_id)["timeline"] if e["action"] == "deadline.calendar_missing"]
    assert timeline and "2027 年的工作日历尚未确认" in timeline[0]["detail"]["message"]
    confirm_year(demo, SYSADMIN, 2027, [DayEntry(date(2027, 1, 1), False, "元旦")], "国务院办公厅通知(测试)")
    deadline_repair.apply(demo, SYSADMIN, {"kind": "calendar_year", "year": 2027})  # the dates wait for the repair
    assert api.task("zj01", case_id, "handle")["due_at"] == "2027-01-25T23:59:59"


def test_the_handling_period_of_a_petition_is_60_days_rolled_to_a_working_day(api, units, year_2027):
    case_id = petition(api)
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["zjj"],
                 directly_designated=False)
    api.complete("zj01", case_id, "sign_for")
    # 2026-11-25 + 60 日 = Sunday 2027-01-24 → Monday 2027-01-25 (民法典 art. 203)
    assert api.task("zj01", case_id, "handle")["due_at"] == "2027-01-25T23:59:59"


def test_review_then_re_review_terminate_the_petition_and_the_same_matter_is_refused_at_intake(api, units, year_2027):
    case_id = replied_and_followed_up(api, units)
    api.complete("dispatch01", case_id, "request_review", review_requested=True, review_unit_id=units["cgj"],
                 review_request_reason="对处理意见不服")
    decision = api.task("cg01", case_id, "review_decision")  # 复查 by a unit not involved so far
    assert api.case(case_id)["status"] == "reviewing"
    shown = api.call("cg01", "GET", f"/tasks/{decision['id']}")
    assert shown.status_code == 200, "the 复查 unit has the task in its worklist but may not open it (scope)"
    assert api.case(case_id, "cg01")["status"] == "reviewing"
    assert decision["due_at"] == end_of(REGISTERED_ON + timedelta(days=30))  # 2026-12-25, a Friday
    api.complete("cg01", case_id, "review_decision", review_result="uphold", review_opinion="维持原处理意见。")
    assert api.case(case_id)["status"] == "replied"
    api.complete("dispatch01", case_id, "request_re_review", re_review_requested=True,
                 re_review_unit_id=units["zjj"], re_review_request_reason="对复查意见不服")
    assert api.case(case_id)["status"] == "re_reviewing"
    api.complete("zj01", case_id, "re_review_decision", re_review_result="uphold", re_review_opinion="维持。")
    case = api.case(case_id)
    assert (case["status"], case["tasks"]) == ("terminated", [])
    assert [t for _, t in api.actions(case_id)][-4:] == ["request_review", "review_decision", "request_re_review",
                                                         "re_review_decision"]

    refused = api.call("dispatch01", "POST", "/cases", json={
        "channel": "visit", "kind": "complaint", "category": "城乡建设/房屋质量", "subject": "还是漏水",
        "content": "再次反映漏水问题。", "requester": {**PETITIONER, "phone": None}})
    assert refused.status_code == 422
    body = refused.get_json()
    assert "复核终结" in body["message"] and "第三十六条" in body["details"]["category"]
    other_matter = petition(api, category="劳动保障/欠薪", subject="欠薪")
    assert api.case(other_matter)["status"] == "registered"


def test_no_review_requested_closes_and_archives(api, units, year_2027):
    case_id = replied_and_followed_up(api, units)
    api.complete("dispatch01", case_id, "request_review", review_requested=False)
    assert api.case(case_id)["status"] == "archived"
    assert petition(api)  # archived, not terminated: the same matter may be raised again


def test_a_co_handled_petition_with_supervision_and_a_refused_extension(api, units, year_2027):
    case_id = petition(api)
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="help")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="co_handle", lead_unit_id=units["cgj"],
                 assisting_unit_ids=[units["zjj"], units["scjgj"]], directly_designated=False)
    sign_for = api.task("cg01", case_id, "sign_for")
    assert sign_for["due_at"] == end_of(date(2026, 12, 2))  # petition.objection: 5 工作日
    api.complete("cg01", case_id, "sign_for")
    api.supervise(case_id, "请加快办理")
    api.complete("zj01", case_id, "assisting_input", assisting_opinion="住建局意见")
    api.complete("sj01", case_id, "assisting_input", assisting_opinion="市监局意见")
    api.complete("cg01", case_id, "consolidate", consolidated_opinion="汇总")
    api.complete("cg01", case_id, "handle", handle_action="extend", requested_extension_days=30,
                 extension_reason="情况复杂")
    api.complete("cgleader01", case_id, "approve_extension", extension_decision="refuse", extension_opinion="不同意")
    api.complete("cg01", case_id, "supervision_feedback", supervision_feedback="已书面反馈")
    replied = api.complete("cg01", case_id, "handle", handle_action="reply", handling_notes="已办")
    assert replied["status"] == "handling"
    api.complete("cg01", case_id, "reply", reply_outcome="support", reply_opinion="支持。")
    assert api.case(case_id)["status"] == "follow_up"


def test_a_petition_not_accepted_ends_after_the_leaders_approval(api):
    case_id = petition(api)
    api.complete("dispatch01", case_id, "accept", accept_decision="reject", kind="complaint",
                 rejection_reason="litigation", rejection_note="已进入诉讼程序。")
    api.complete("leader01", case_id, "approve_rejection", rejection_approval="approve", approval_opinion="同意")
    assert api.case(case_id)["status"] == "rejected"
