"""A complaint's whole life through the workstation pages in headless Chromium, on SQLite and PostgreSQL:
agent01 registers → dispatch01 accepts and transfers it to 市城管局 → cg01 signs for it and asks for more
time → cgleader01 approves → cg01 replies → agent01's follow-up closes it. A second browser completing a
task already done sees the conflict message; a repeat registration is linked as a duplicate."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PHONE = "13912345678"


def submit(page: Any, label: str) -> None:
    """Click the form's submit button and wait for the next page."""
    with page.expect_navigation():
        page.get_by_role("button", name=label).click()


def open_case_from_worklist(desk: Any, number: str, task: str) -> Any:
    page = desk.go("/worklist")
    row = page.locator("table.worklist tr", has_text=number)
    assert task in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link").click()
    return page


def register(agent: Any, subject: str) -> Any:
    page = agent.go("/intake")
    page.select_option("#kind", "complaint")
    page.select_option("#channel", "phone")
    page.select_option("#category", "城市管理/占道经营")
    page.fill("#name", "张三丰")
    page.fill("#phone", PHONE)
    page.fill("#id_number", "11010519491231002x")
    page.fill("#address", "北京市东城区和平里街道 1 号")
    page.fill("#subject", subject)
    page.fill("#content", "每天晚上七点后有摊贩在小区门口占道经营,影响通行。")
    return page


def test_a_complaint_goes_from_intake_to_closure_through_the_pages(desk: Any, served: Any,
                                                                    tmp_path_factory: Any) -> None:
    agent = desk("agent01")
    page = register(agent, "小区门口占道经营")
    page.locator("#id_number").blur()
    agent.shot("01-intake")
    submit(page, "保存登记")
    number = page.locator("#case-number").inner_text()
    assert re.fullmatch(r"12345-\d{8}-\d{6}", number) and re.fullmatch(r"[2-9A-Z]{12}",
                                                                       page.locator("#query-code").inner_text())
    agent.shot("02-intake-done")

    dispatcher = desk("dispatch01")
    page = open_case_from_worklist(dispatcher, number, "受理")
    page.wait_for_selector("#diagram[data-ready='1'] .djs-element.current")
    assert page.locator("dd.personal").first.inner_text() == "张**"
    dispatcher.shot("03-case-accept")
    page.locator("#diagram").scroll_into_view_if_needed()
    dispatcher.shot("03b-case-diagram")
    page.check("input[name=accept_decision][value=accept]")
    submit(page, "提交「受理」")
    assert "「受理」已提交" in page.inner_text("main")

    page = dispatcher.go("/dispatch")
    assert "承办单位受理 1个工作日 至 2026-11-26 23:59" in " ".join(page.inner_text("#previews").split())
    page.check("input[name=dispatch_mode][value=transfer]")
    lead = page.locator("select[name=lead_unit_id] option", has_text="市城管局").get_attribute("value")
    page.select_option("select[name=lead_unit_id]", lead)
    page.fill("textarea[name=dispatch_note]", "请依职责处理。")
    dispatcher.shot("04-dispatch")
    submit(page, "提交「派单」")
    assert "没有待派单的诉求件" in page.inner_text("main")

    officer, colleague = desk("cg01"), desk("cg01")
    officer.go("/worklist")
    officer.shot("05-worklist")
    page = open_case_from_worklist(officer, number, "签收")
    stale = colleague.go(page.url.split("#")[0][len(served.url):])
    page.fill("textarea[name=sign_note]", "已签收")
    submit(page, "提交「签收」")
    stale.fill("textarea[name=sign_note]", "我也来签收")
    submit(stale, "提交「签收」")
    assert "该任务已被他人处理" in stale.inner_text("main")
    colleague.shot("06-conflict")

    # The transfer form, downloaded from the case page in cg01's own browser session, reads back right.
    href = page.locator("a", has_text="办理转送单").get_attribute("href")
    response = page.request.get(served.url + href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    pdf = tmp_path_factory.mktemp("pdf") / "transfer-form.pdf"
    pdf.write_bytes(response.body())
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "办理转送单" in text and "市城管局" in text and number in text
    assert re.search(r"市热线转〔2026〕第\s*1\s*号", text), text[:400]

    page.check("input[name=handle_action][value=extend]")
    submit(page, "提交「办理」")
    assert "「申请延期天数」为必填项" in page.inner_text("main")  # the server's Chinese message
    page.fill("input[name=requested_extension_days]", "5")
    page.fill("textarea[name=extension_reason]", "需会同街道现场勘查")
    submit(page, "提交「办理」")
    assert "延期审批" in page.inner_text("main")

    leader = desk("cgleader01")
    page = leader.go("/leader")
    assert "延期审批 1 件" in page.inner_text("main")
    leader.shot("07-leader")
    with page.expect_navigation():
        page.locator("table tr", has_text=number).get_by_role("link", name="审批").click()
    page.check("input[name=extension_decision][value=approve]")
    page.fill("input[name=approved_extension_days]", "3")
    page.fill("textarea[name=extension_opinion]", "同意延期 3 个工作日")
    submit(page, "提交「延期审批」")

    page = open_case_from_worklist(officer, number, "办理")
    page.check("input[name=handle_action][value=reply]")
    page.fill("textarea[name=handling_notes]", "已会同街道清理摊点")
    submit(page, "提交「办理」")
    page.check("input[name=reply_outcome][value=support]")
    page.fill("textarea[name=reply_opinion]", "经核查,已清理占道摊点并安排巡查。")
    submit(page, "提交「答复」")

    page = open_case_from_worklist(agent, number, "回访")
    page.check("input[name=satisfaction][value=satisfied]")
    page.check("input[name=resolved][value=true]")
    page.check("input[name=follow_up_method][value=phone]")
    submit(page, "提交「回访」")
    main = page.inner_text("main")
    assert "已归档" in main and "当前没有待办理的步骤" in main
    for step in ("完成「签收」", "完成「延期审批」", "完成「回访」", "陈立新（cgleader01）"):
        assert step in main
    agent.shot("08-case-closed")

    page = agent.go(f"/cases/{page.url.rstrip('/').split('/')[-1]}")
    with page.expect_navigation():
        page.get_by_role("button", name="显示完整信息").click()
    assert "11010519491231002X" in page.inner_text("main")

    page = register(agent, "小区门口又有人占道经营")
    page.locator("#phone").focus()
    page.locator("#subject").focus()  # leaving the phone field asks for earlier cases
    hint = page.locator("#duplicate-hint")
    hint.wait_for(state="visible")
    assert number in hint.inner_text() and "已归档" in hint.inner_text()
    agent.shot("09-duplicate-hint")
    with page.expect_navigation():
        hint.get_by_role("button", name="关联为重复件").click()
    assert "已关联为重复件" in page.inner_text("main")

    for d in (agent, dispatcher, officer, colleague, leader):
        assert not [e for e in d.errors if "Content Security Policy" in e or "Refused" in e], d.errors


def test_error_pages_are_chinese_and_show_no_stack_trace(desk: Any) -> None:
    officer = desk("cg01")
    page = officer.go("/cases/999999")
    assert "诉求件不存在" in page.inner_text("main")
    page = officer.go("/intake")
    assert "没有权限执行此操作" in page.inner_text("main")
    officer.shot("10-no-permission")
    assert "Traceback" not in page.content()
