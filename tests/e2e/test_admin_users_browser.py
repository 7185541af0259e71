"""In headless Chromium: the 安全管理员 creates a handler for 市城管局, who signs in with the one-time
password, must change it, and sees only 市城管局's work; the 系统管理员 cannot open the user pages."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_a_new_handler_signs_in_changes_the_password_and_sees_only_their_unit(desk: Any, served: Any,
                                                                             chromium: Any) -> None:
    secadmin = desk("secadmin")
    page = secadmin.go("/admin/users")
    page.fill("#staff_no", "cg09")
    page.fill("#name", "黄新")
    page.select_option("#unit", "cgj")
    page.locator("input[name=roles][value=handler]").first.check()
    with page.expect_navigation():
        page.get_by_role("button", name="新建并生成一次性密码").click()
    password = re.search(r"cg09\s+(\S+)", page.locator("section[role=status] tbody").inner_text()).group(1)  # type: ignore[union-attr]

    context = chromium.new_context(locale="zh-CN")
    try:
        handler = context.new_page()
        handler.goto(served.url + "/login")
        handler.fill("#staff_no", "cg09")
        handler.fill("#password", password)
        with handler.expect_navigation():
            handler.click("button[type=submit]")
        handler.goto(served.url + "/worklist")
        assert handler.url.endswith("/password")  # forced change before anything else
        handler.fill("#old_password", password)
        handler.fill("#new_password", "Qingshui#2027")
        handler.fill("#confirm_password", "Qingshui#2027")
        with handler.expect_navigation():
            handler.click("button[type=submit]")
        response = handler.goto(served.url + "/worklist")
        assert response is not None and response.status == 200 and "市住建局" not in handler.content()
    finally:
        context.close()

    sysadmin = desk("sysadmin")
    response = sysadmin.page.goto(served.url + "/admin/users")
    assert response is not None and response.status == 403
