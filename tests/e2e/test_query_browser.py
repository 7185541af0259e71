"""The combined query in headless Chromium, on SQLite and PostgreSQL: 张卫东 (the centre's leader) filters 30,000
bulk-inserted cases down to 20,000 (投诉 and 求助), sorts by 受理号, pages on, exports them to Excel — a
background job the scheduler's sweep writes while the page's progress bar follows it — and opens the file."""

from __future__ import annotations

import threading
from typing import Any

import openpyxl
import pytest

from app.services import exports
from tests.conftest import START
from tests.query_data import make_cases

pytestmark = pytest.mark.e2e


def test_a_leader_filters_sorts_and_exports_twenty_thousand_rows(desk: Any, served: Any, tmp_path: Any) -> None:
    rows = make_cases(served.platform, 30_000, START)
    wanted = sorted(r.number for r in rows if r.kind in ("complaint", "help"))
    assert len(wanted) == 20_000
    leader = desk("leader01")
    page = leader.go("/query")
    page.select_option("#f-kind", "complaint")  # the form offers one kind; two go in the address
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()
    page = leader.go("/query?kind=complaint,help&sort=-created_at")
    with page.expect_navigation():
        page.get_by_role("link", name="受理号").click()
    first_rows = page.locator("#results tbody tr td:first-child").all_inner_texts()
    assert first_rows == wanted[:50]
    with page.expect_navigation():
        page.get_by_role("link", name="下一页").click()
    assert page.locator("#results tbody tr td:first-child").all_inner_texts() == wanted[50:100]
    leader.shot("query-results")
    with page.expect_navigation():
        page.locator("#export-xlsx").click()
    assert page.locator("#export-progress").is_visible()
    assert "正在后台生成" in page.locator("#export-state").inner_text()
    sweep = threading.Thread(target=exports.run_pending, args=(served.platform, "scheduler@e2e"))
    sweep.start()
    percent = page.locator("#export-percent")
    for _ in range(600):  # the bar moves as the sweep reports every 1,000 rows (polled each second)
        if percent.inner_text() not in ("0%", "100%"):
            leader.shot("query-export-progress")
            break
        page.wait_for_timeout(100)
    sweep.join(timeout=120)
    page.locator("#export-download").wait_for(state="visible", timeout=30_000)
    assert page.locator("#export-percent").inner_text() == "100%"
    leader.shot("query-export-done")
    with page.expect_download() as download:
        page.locator("#export-download").click()
    path = tmp_path / "export.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True).active
    assert sheet is not None
    numbers = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == wanted
    assert not leader.errors
