"""A pause through the pages in headless Chromium, on SQLite and PostgreSQL: cg01 pauses a case for 鉴定/检测,
cgleader01 approves, cg01's worklist shows 暂停, and resuming three working days later shows the new due date."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.models import Unit, User

pytestmark = pytest.mark.e2e


def _working_days_after(start: date, n: int) -> date:
    from chinese_calendar import is_workday
    day = start
    while n:
        day += timedelta(days=1)
        n -= is_workday(day)
    return day


def _handling_case(platform: Any) -> str:
    """A complaint accepted, 转送 to 市城管局 and signed for there, through the services: its 办理 is waiting."""
    from app.services import tasks
    from app.services.auth import actor_for
    from app.services.cases import RequesterInput
    from app.services.intake import CaseInput, register_case

    with platform.db.reading() as session:
        people = {u.staff_no: actor_for(u) for u in session.scalars(select(User))}
        cgj = session.scalars(select(Unit.id).where(Unit.code == "cgj")).one()
    case = register_case(platform, people["agent01"], CaseInput(
        kind="complaint", channel="phone", subject="小区水质浑浊", content="自来水发黄,要求检测。",
        requester=RequesterInput(name="李四", phone="13800138000")))

    def step(user: str, spec: str, **data: Any) -> None:
        [task] = [t for t in tasks.worklist(platform, people[user], task=spec)["items"] if t["case_id"] == case["id"]]
        tasks.complete_task(platform, people[user], task["id"], data)

    step("dispatch01", "accept", accept_decision="accept", kind="complaint")
    step("dispatch01", "dispatch", dispatch_mode="transfer", lead_unit_id=cgj, directly_designated=False)
    step("cg01", "sign_for", sign_note="已签收")
    return str(case["number"])


def submit(page: Any, label: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=label).click()


def open_case(desk: Any, number: str) -> Any:
    page = desk.go("/worklist")
    with page.expect_navigation():
        page.locator("table.worklist tr", has_text=number).get_by_role("link").first.click()
    return page


def test_a_handler_pauses_for_appraisal_the_leader_approves_and_resume_shows_the_new_due_date(desk: Any,
                                                                                            served: Any) -> None:
    number = _handling_case(served.platform)
    due = _working_days_after(date(2026, 11, 25), 15)
    officer = desk("cg01")
    page = open_case(officer, number)
    assert f"到期 {due:%Y-%m-%d} 23:59" in page.inner_text("main")
    page.locator("details.pause-ask summary").first.click()
    page.select_option("select[name=reason]", "appraisal")
    page.fill("textarea[name=note]", "委托第三方检测水质")
    submit(page, "申请暂停计时")
    assert "已提交暂停申请，待领导审批" in page.inner_text("main")
    officer.shot("pause-01-requested")

    leader = desk("cgleader01")
    page = leader.go(officer.page.url[len(served.url):].split("#")[0])
    page.fill("input[name=opinion]", "同意检测")
    submit(page, "批准暂停")
    assert "已批准暂停计时" in page.inner_text("main")
    leader.shot("pause-02-approved")

    page = officer.go("/worklist")
    row = page.locator("table.worklist tr", has_text=number)
    assert "暂停" in row.inner_text() and "暂停计时" in row.inner_text()
    officer.shot("pause-03-worklist")

    served.clock.advance(days=5, hours=1)  # Wed 09:00 → Mon 10:00: Thu, Fri, Mon paused
    officer = desk("cg01")  # sessions idle out over the days: sign in again
    page = open_case(officer, number)
    submit(page, "恢复计时")
    assert "已恢复计时，到期时间顺延 3 个工作日" in page.inner_text("main")
    new_due = _working_days_after(due, 3)
    assert f"到期 {new_due:%Y-%m-%d} 23:59" in page.inner_text("main")
    officer.shot("pause-04-resumed")
    assert officer.errors == []
