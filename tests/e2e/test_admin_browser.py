"""The three administrators in headless Chromium (issue 12's "Done when"), on SQLite and PostgreSQL.

The 系统管理员 opens 市水务局, adds a category and a 派单目录 rule on the pages and cannot open the user pages;
the 安全管理员 creates a handler for 市水务局, who signs in with the one-time password, must change it and
sees nothing of other units; the next case in that category and district is proposed to 市水务局 on the
dispatch page. The 审计员 reads /audit (and the user list, without a form on it); every admin page else and every admin
form refuses them, changing nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import (
    AuditEvent,
    CalendarDay,
    DeadlineRule,
    DictionaryEntry,
    LocalHoliday,
    RoutingRule,
    Setting,
    Unit,
    User,
)
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_workstation import open_case_from_worklist, register, submit
from tests.integration.lifecycle_driver import Api, unit_ids
from tests.integration.test_route_permissions import _path

pytestmark = pytest.mark.e2e

ADMIN_PAGES = ("/admin/dictionary", "/admin/routing", "/admin/settings", "/admin/users", "/admin/units",
               "/admin/calendar", "/admin/backups")


def case_elsewhere(served: Any) -> dict[str, Any]:
    """A case of 市城管局 (through the API, not the pages): what a 市水务局 handler must never see."""
    api = Api(served.app.test_client())
    case = api.register(category="城市管理/占道经营", subject="占道经营")
    api.complete("dispatch01", int(case["id"]), "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", int(case["id"]), "dispatch", dispatch_mode="transfer",
                 lead_unit_id=unit_ids(served.platform)["cgj"], directly_designated=False)
    return case


def test_water_is_set_up_by_its_administrators_and_the_next_case_is_proposed_to_it(desk: Any, served: Any,
                                                                                  chromium: Any) -> None:
    other = case_elsewhere(served)
    sysadmin = desk("sysadmin")
    page = sysadmin.go("/admin/units")
    page.fill("#code", "sw")
    page.fill("#name", "市水务局")
    page.select_option("#kind", "bureau")
    page.select_option("#parent", label="市12345热线中心")
    submit(page, "新建")
    assert "市水务局" in page.inner_text("main")

    page = sysadmin.go("/admin/dictionary?kind=category")
    page.fill("#e-code", "城乡建设/二次供水")
    page.fill("#e-label", "二次供水")
    page.select_option("#e-parent", "城乡建设")
    with page.expect_navigation():
        page.locator("section[aria-labelledby=h-add]").get_by_role("button", name="保存").click()
    assert "已保存 城乡建设/二次供水 二次供水" in page.inner_text("main")

    page = sysadmin.go("/admin/routing")
    page.select_option("#r-category", "城乡建设/二次供水")
    page.select_option("#r-area", label="东城区")
    page.select_option("#r-lead", label="市水务局")
    submit(page, "保存规则")
    assert "城乡建设/二次供水 × 东城区 → 市水务局" in page.inner_text("#rules")
    sysadmin.shot("admin-01-routing")
    page = sysadmin.go("/admin/calendar?year=2026")
    assert page.locator("td.day-holiday[data-day='2026-10-01']").count() == 1  # the year view: 国庆节
    sysadmin.shot("admin-01b-calendar")
    page.select_option("#region", label="东城区")  # a local festival: previewed, then set
    page.fill("#first", "2026-12-30")
    page.fill("#note", "古尔邦节")
    submit(page, "预览对待办期限的影响")
    assert "没有待办的期限需要调整" in page.inner_text("#local-preview")
    submit(page, "确认设置并调整期限")
    assert "已设置地方节假日 1 天" in page.inner_text("main")
    assert page.locator("td.day-local[data-day='2026-12-30']").count() == 1  # shown for 东城区
    page.locator("td[data-day='2026-12-30']").scroll_into_view_if_needed()
    sysadmin.shot("admin-01c-local-holiday")
    response = page.goto(served.url + "/admin/users")
    assert response is not None and response.status == 403 and "只有安全管理员可以管理用户" in page.inner_text("main")

    secadmin = desk("secadmin")
    page = secadmin.go("/admin/users")
    page.fill("#staff_no", "sw01")
    page.fill("#name", "钱水清")
    page.select_option("#unit", "sw")
    page.locator("input[name=roles][value=handler]").first.check()
    submit(page, "新建并生成一次性密码")
    password = re.search(r"sw01\s+(\S+)", page.locator("section[role=status] tbody").inner_text()).group(1)  # type: ignore[union-attr]
    secadmin.shot("admin-02-user-created")

    agent = desk("agent01")
    page = register(agent, "二次供水水箱有异味")
    page.select_option("#category", "城乡建设/二次供水")  # the new category, offered at once
    page.select_option("#area", label="东城区")
    page.fill("#content", "小区二次供水水箱的水有异味,已持续一周。")
    submit(page, "保存登记")
    number = page.locator("#case-number").inner_text()

    dispatcher = desk("dispatch01")
    page = open_case_from_worklist(dispatcher, number, "受理")
    page.check("input[name=accept_decision][value=accept]")
    submit(page, "提交「受理」")
    page = dispatcher.go("/dispatch")
    assert number in page.inner_text("#h-case")
    assert "依据派单目录: 城乡建设/二次供水 × 东城区 → 市水务局" in page.inner_text("#proposal")
    water = page.locator("select[name=lead_unit_id] option", has_text="市水务局").get_attribute("value")
    assert page.locator("select[name=lead_unit_id]").input_value() == water  # pre-filled by the rule
    page.locator("#proposal").scroll_into_view_if_needed()
    dispatcher.shot("admin-03-dispatch-proposed")
    if not page.locator("input[name=dispatch_mode]:checked").count():
        page.check("input[name=dispatch_mode][value=transfer]")
    page.fill("textarea[name=dispatch_note]", "请依职责处理。")
    submit(page, "提交「派单」")

    context = chromium.new_context(locale="zh-CN")
    try:
        handler = context.new_page()
        handler.goto(served.url + "/login")
        handler.fill("#staff_no", "sw01")
        handler.fill("#password", password)
        with handler.expect_navigation():
            handler.click("button[type=submit]")
        handler.goto(served.url + "/worklist")
        assert handler.url.endswith("/password")  # the one-time password is changed before anything else
        handler.fill("#old_password", password)
        handler.fill("#new_password", "Qingshui#2027")
        handler.fill("#confirm_password", "Qingshui#2027")
        submit(handler, "保存")  # (the page's own button: the header's 退出 is a submit button too)
        assert "修改密码" not in handler.inner_text("main")
        handler.goto(served.url + "/worklist")
        rows = handler.inner_text("main")
        assert number in rows and "签收" in rows and other["number"] not in rows, rows
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        handler.screenshot(path=str(SCREENSHOTS / f"{served.name}-admin-04-water-worklist.png"))
        response = handler.goto(f"{served.url}/cases/{other['id']}")
        assert response is not None and response.status == 404  # another unit's case is not there at all
    finally:
        context.close()


def _state(served: Any) -> dict[str, int]:
    """How many rows each table an administrator edits holds."""
    with served.platform.db.reading() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Unit, User, DictionaryEntry, RoutingRule, Setting, DeadlineRule, CalendarDay,
                              LocalHoliday)}


def test_the_auditor_reads_the_audit_log_and_can_change_nothing(desk: Any, served: Any) -> None:
    auditor = desk("auditor")
    page = auditor.go("/audit")
    assert "登录成功" in page.inner_text("main")
    auditor.shot("admin-05-audit")
    shown = {}
    for path in ADMIN_PAGES:  # each page refused, or (the user list) shown to read without a form to change it
        response = page.goto(served.url + path)
        assert response is not None, path
        shown[path] = response.status
        assert response.status == 403 or page.locator("main form[method=post]").count() == 0, path
    assert [p for p, status in shown.items() if status == 200] == ["/admin/users"]

    page = auditor.go("/audit")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    forms = sorted({_path(rule) for rule in served.app.url_map.iter_rules()
                    if rule.rule.startswith("/admin/") and "POST" in (rule.methods or set())})
    before = _state(served)
    with served.platform.db.reading() as session:
        last_event = session.scalar(select(func.max(AuditEvent.id)))
    refused = {path: auditor.context.request.post(served.url + path, form={
        "csrf_token": token or "", "code": "x", "name": "审计员改的", "label": "审计员改的", "value": "1",
        "kind": "category", "year": "2027", "entries": "2027-01-01 休", "confirm": "1"}).status for path in forms}
    assert len(forms) > 20 and {p: s for p, s in refused.items() if s not in (403, 404)} == {}
    assert _state(served) == before
    with served.platform.db.reading() as session:
        written = session.scalars(select(AuditEvent.action).where(AuditEvent.id > (last_event or 0))).all()
    assert written == [], "a refusal writes nothing"
