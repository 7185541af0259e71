"""The monthly report page in headless Chromium, on SQLite and PostgreSQL: the centre's leader opens 统计报表
from the menu and sees the rates, the balance check passed and its five SVG charts drawn; a screenshot."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _a_few_cases(platform: Any) -> None:
    from sqlalchemy import select

    from app.models import User
    from app.services.auth import actor_for
    from app.services.cases import RequesterInput
    from app.services.intake import CaseInput, register_case

    with platform.db.reading() as session:
        agent = actor_for(session.scalars(select(User).where(User.staff_no == "agent01")).one())
    made = (("小区停水", "城乡建设/供水"), ("暖气不热", "城乡建设/供暖"), ("占道经营", "城市管理/占道经营"))
    for subject, category in made:
        register_case(platform, agent, CaseInput(kind="complaint", channel="phone", category=category, subject=subject,
                                                 content=f"幸福里{subject},请尽快处理。",
                                                 requester=RequesterInput(name="张三", phone="13800138000")))


def test_the_monthly_report_page_shows_its_rates_balance_and_charts(desk: Any, served: Any) -> None:
    _a_few_cases(served.platform)
    leader = desk("leader01")
    page = leader.go("/")
    with page.expect_navigation():
        page.get_by_role("link", name="统计报表").click()
    main = page.inner_text("main")
    assert "及时受理率" in main and "满意率" in main and "平衡校验通过" in main and "截至" in main
    charts = page.locator("main figure svg")
    assert charts.count() == 5
    for i in range(5):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 40  # drawn, not empty
    assert page.locator("main svg rect").count() > 3  # bars of the category and area charts
    page.locator("section.report-charts").scroll_into_view_if_needed()
    leader.shot("monthly-report")
    assert not leader.errors, leader.errors
