"""Pauses of a task's clock over the HTTP API on both databases, on a frozen clock: a handler asks, a leader
(not the one who asked) approves, the light shows 暂停 and no warning fires meanwhile, and on resume the due
date moves by exactly the working days paused."""

from __future__ import annotations

from datetime import date

import pytest
from lifecycle_driver import Api, end_of, unit_ids, working_days_after
from sqlalchemy import insert, select

from app.models import TaskWarning, User, user_role
from app.services.sweeps import raise_warnings

SIGNED_ON = date(2026, 11, 25)  # the frozen clock's day (a Wednesday)


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


def handling(api: Api, demo) -> int:  # type: ignore[no-untyped-def]
    """A complaint 转送 to 市城管局 and signed for there: its 办理 runs under hotline.complaint (15 工作日)."""
    units = unit_ids(demo)
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    api.complete("cg01", case_id, "sign_for", sign_note="已签收")
    return case_id


def post(api: Api, user: str, path: str, expect: int, **body):  # type: ignore[no-untyped-def]
    response = api.call(user, "POST", path, json=body)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def test_a_pause_of_three_working_days_moves_the_due_date_by_three_working_days(api, demo, clock):
    case_id = handling(api, demo)
    handle = api.task("cg01", case_id, "handle")
    due_before = end_of(working_days_after(SIGNED_ON, 15))
    assert handle["due_at"] == due_before

    asked = post(api, "cg01", f"/tasks/{handle['id']}/pause", 201, reason="appraisal", note="需委托水质检测")
    assert asked["state"] == "requested"  # 鉴定/检测 needs a leader's approval: the clock still runs
    assert api.case(case_id)["paused"] is False
    post(api, "cg01", f"/pauses/{asked['id']}/approve", 403)  # a handler approves nothing

    approved = post(api, "cgleader01", f"/pauses/{asked['id']}/approve", 200, opinion="同意检测")
    assert approved["state"] == "running"
    case = api.case(case_id)
    assert case["paused"] is True
    assert [(t["task"], t["light"]) for t in case["tasks"]] == [("handle", "paused")]
    assert api.task("cg01", case_id, "handle")["light"] == "paused"
    assert api.worklist("cg01", light="paused")["counts"]["paused"] == 1
    # while paused the task cannot be completed: its clock stands still until someone resumes it
    api.complete("cg01", case_id, "handle", expect=409, handle_action="reply", handling_notes="已处理")

    # Wed 11-25 09:00 → Mon 11-30 10:00: Thu, Fri and Mon are the working days paused
    clock.advance(days=5, hours=1)
    api.tokens.clear()  # tokens expire: sign in again days later
    resumed = post(api, "cg01", f"/pauses/{asked['id']}/resume", 200)
    assert resumed["credited_days"] == 3
    due_after = end_of(working_days_after(working_days_after(SIGNED_ON, 15), 3))
    assert (resumed["due_before"], resumed["due_after"]) == (due_before, due_after)
    case = api.case(case_id)
    assert case["paused"] is False
    assert case["due_at"] == due_after
    assert api.task("cg01", case_id, "handle")["due_at"] == due_after
    assert [a for a, _ in api.actions(case_id) if a.startswith("task.p") or a == "task.resumed"] == [
        "task.pause_requested", "task.pause_approved", "task.paused", "task.resumed"]
    api.complete("cg01", case_id, "handle", handle_action="reply", handling_notes="检测合格,已答复")


def test_no_warning_fires_while_a_task_is_paused_and_the_credit_stops_at_the_reasons_maximum(api, demo, clock):
    case_id = handling(api, demo)
    handle = api.task("cg01", case_id, "handle")
    asked = post(api, "cg01", f"/tasks/{handle['id']}/pause", 201, reason="material", note="请诉求人补充照片")
    assert asked["state"] == "running"  # 补充材料 needs no approval: the clock stops at once

    clock.advance(days=33)  # Mon 12-28: past the old due date (12-16), 22 working days paused
    api.tokens.clear()
    assert raise_warnings(demo, "sched-0").warnings == 0  # paused: no warning
    with demo.db.reading() as session:
        assert session.scalars(select(TaskWarning)).all() == []
    assert api.case(case_id)["tasks"][0]["light"] == "paused"

    resumed = post(api, "cg01", f"/pauses/{asked['id']}/resume", 200)
    assert resumed["credited_days"] == 10  # 补充材料 counts at most 10 working days
    assert resumed["due_after"] == end_of(working_days_after(working_days_after(SIGNED_ON, 15), 10))
    assert raise_warnings(demo, "sched-0").warnings == 1  # running again, due on 12-30: yellow, not yet red


def test_the_approver_may_not_be_the_one_who_asked_and_a_reason_keeps_to_its_steps(api, demo):
    case_id = handling(api, demo)
    handle = api.task("cg01", case_id, "handle")
    bad = post(api, "cg01", f"/tasks/{handle['id']}/pause", 422, reason="hearing")
    assert "reason" in bad["details"]  # 听证 belongs to 复核 only
    assert "reason" in post(api, "cg01", f"/tasks/{handle['id']}/pause", 422, reason="nonsense")["details"]
    post(api, "zj01", f"/tasks/{handle['id']}/pause", 404, reason="appraisal")  # another unit's task

    asked = post(api, "cg01", f"/tasks/{handle['id']}/pause", 201, reason="appraisal")
    post(api, "cg01", f"/tasks/{handle['id']}/pause", 409, reason="appraisal")  # one open pause per task
    with demo.db.unit_of_work() as session:  # cg01 also becomes a leader of 市城管局
        cg01 = session.scalars(select(User).where(User.staff_no == "cg01")).one()
        session.execute(insert(user_role).values(user_id=cg01.id, role_code="leader"))
        session.commit()
    refused = post(api, "cg01", f"/pauses/{asked['id']}/approve", 403)
    assert refused["message"] == "审批人不能是申请人本人"
    post(api, "leader01", f"/pauses/{asked['id']}/refuse", 200, opinion="无需检测")  # the centre is above
    assert api.case(case_id)["paused"] is False
    post(api, "cgleader01", f"/pauses/{asked['id']}/approve", 409)  # already decided
