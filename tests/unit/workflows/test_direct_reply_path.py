"""最短办理流程 is a path of workflows/hotline_order.bpmn: a start variable `direct_reply` (the answer given at
intake) takes the case past 受理 and 派单 to its end, closed; without it the case waits for 受理 as before."""

from __future__ import annotations


def test_an_answer_given_at_intake_ends_the_order_closed_with_no_task(case) -> None:
    c = case("hotline_order", kind="consultation", direct_reply="请携带身份证到窗口办理。")
    assert c.finished and c.status == "closed" and c.ready == []
    assert (c.data["handling_outcome"], c.data["closed"]) == ("direct_reply", True)


def test_no_answer_at_intake_waits_for_acceptance(case) -> None:
    c = case("hotline_order", kind="consultation")
    assert not c.finished and c.ready == ["accept"] and c.status == "registered"


def test_a_duplicate_answered_at_intake_is_still_merged_as_a_duplicate(case) -> None:
    c = case("hotline_order", duplicate_of=3, direct_reply="已答复")
    assert c.finished and c.status == "closed" and c.data["dedupe_result"] == "duplicate"
    assert c.data["handling_outcome"] is None
